"""Relay mode of the benchmark (`bench/run.sh --relay`, docs/benchmarks.md, "Through an upstream").

For each backend: ipls B plays CLN (reseller `partner`), ipls A routes type 16 to B
(`ipls upstream add cln --types 16`). wrk runs the register+remove cycle of the main benchmark
against B directly (reseller `direct`, one hop) and against A (reseller `bench`, each register
waits for B's answer; each remove is carried from A's outbox), then the time A's outbox takes to
empty after the run. Then N licenses of type 16 are seeded on both sides and
`ipls upstream reconcile cln` is timed, without and with check-ins (server.json, 100 IPs a call),
with its peak RSS. Traffic goes to 127.0.0.1 only; every run stops by itself.
"""
import os, secrets, shutil, sqlite3, subprocess, tempfile, time

import run as common

PARTNER_SECRET = "partner-secret-0123456789"
DIRECT_SECRET = "direct-secret-0123456789"
# A's limits towards B for the run: one instance's relay is meant to keep up with wrk, not to be
# polite (the defaults, 8 at once and 20 a second, are for CLN).
CONCURRENCY = 64
RATE = 10000


def database(backend, work, name):
    if backend == "postgres":
        dbname = f"ipls_bench_{name}_{os.getpid()}"
        common.psql(common.ADMIN, f"DROP DATABASE IF EXISTS {dbname}")
        common.psql(common.ADMIN, f"CREATE DATABASE {dbname}")
        return common.ADMIN.rsplit("/", 1)[0] + "/" + dbname
    return "sqlite://" + os.path.join(work, f"{name}.db")


def drop(url):
    if url.startswith("postgres"):
        common.psql(common.ADMIN, f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def sql(url, statement):
    """One statement on either backend; the first column of the first row, if any."""
    if url.startswith("postgres"):
        out = common.psql(url, statement).strip()
        return out.splitlines()[0] if out else None
    db = sqlite3.connect(url[len("sqlite://"):], timeout=30)
    try:
        row = db.execute(statement).fetchone()
        db.commit()
        return str(row[0]) if row else None
    finally:
        db.close()


def reseller_id(url, login):
    return int(sql(url, f"SELECT id FROM resellers WHERE login = '{login}'"))


def seed(url, n, rid):
    """N licenses of type 16 on 10.x.y.z (the slot as the catalogue computes it)."""
    slot = sql(url, """SELECT CASE WHEN f.exclusive THEN t.family ELSE CAST(t.id AS TEXT) END
                         FROM license_types t JOIN license_families f ON f.name = t.family WHERE t.id = 16""")
    if url.startswith("postgres"):
        common.psql(url, f"""INSERT INTO ip_licenses (reseller_id, ip, type_id, slot, els_allowed, created_at)
            SELECT {rid}, '10.' || ((i / 65536) % 256) || '.' || ((i / 256) % 256) || '.' || (i % 256),
                   16, '{slot}', false, now()::timestamp FROM generate_series(0, {n - 1}) AS i; ANALYZE;""")
        return
    db = sqlite3.connect(url[len("sqlite://"):], timeout=30)
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    rows = ((rid, f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", 16, slot, 0, now) for i in range(n))
    db.executemany("INSERT INTO ip_licenses (reseller_id, ip, type_id, slot, els_allowed, created_at) "
                   "VALUES (?,?,?,?,?,?)", rows)
    db.commit()
    db.execute("ANALYZE")
    db.close()


def pending(url):
    return int(sql(url, "SELECT count(*) FROM upstream_ops WHERE state = 'pending'"))


def timed_reconcile(env, checkins):
    """Wall time (s), peak RSS (MB) and exit status of one `ipls upstream reconcile cln`."""
    args = ["upstream", "reconcile", "cln", "--format", "json"] + ([] if checkins else ["--no-checkins"])
    began = time.monotonic()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", common.BIN] + args, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - began
    peak_kb = int(done.stderr.strip().splitlines()[-1])
    return elapsed, peak_kb / 1024, done.returncode, done.stderr.strip().splitlines()[-2:-1]


def bench_backend(backend, n, seconds, connections, results):
    work = tempfile.mkdtemp(prefix="ipls-bench-relay-")
    base = dict(os.environ, BENCH_DIR=work, IPLS_TOKEN_WINDOW="86400", IPLS_ALLOW_PRIVATE_IPS="true",
                IPLS_AUTH_FAILURE_BURST="100000", RUST_LOG="warn")
    up_url, down_url = database(backend, work, "up"), database(backend, work, "down")
    env_b = dict(base, DATABASE_URL=up_url, IPLS_MASTER_KEY=secrets.token_hex(32))
    env_a = dict(base, DATABASE_URL=down_url, IPLS_MASTER_KEY=secrets.token_hex(32),
                 IPLS_UPSTREAM_SECRET=PARTNER_SECRET)
    servers = []
    try:
        common.run([common.BIN, "migrate"], env=env_b)
        common.run([common.BIN, "reseller", "add", "partner", "--secret", PARTNER_SECRET, "--types", "1,16"], env=env_b)
        common.run([common.BIN, "reseller", "add", "direct", "--secret", DIRECT_SECRET, "--types", "1,16"], env=env_b)
        common.run([common.BIN, "migrate"], env=env_a)
        common.run([common.BIN, "reseller", "add", "bench", "--secret", common.SECRET, "--types", "1,16"], env=env_a)
        port_b, port_a = common.free_port(), common.free_port()
        proc_b, _ = common.start_server(env_b, port_b)
        servers.append(proc_b)
        common.run([common.BIN, "upstream", "add", "cln", "--url", f"http://127.0.0.1:{port_b}", "--login", "partner",
                    "--types", "16", "--concurrency", str(CONCURRENCY), "--rate", str(RATE)], env=env_a)
        proc_a, _ = common.start_server(env_a, port_a)
        servers.append(proc_a)
        time.sleep(0.5)
        script = os.path.join(common.ROOT, "bench", "wrk", "register_remove.lua")
        for label, port, env, login in [("direct (B alone)", port_b, env_b, "direct"),
                                        ("through A to B", port_a, env_a, "bench")]:
            token = common.run([common.BIN, "token", login], env=env).strip().replace("|", "%7C")
            rps, p50, p99, bad = common.wrk(f"http://127.0.0.1:{port}/", script, dict(env, BENCH_TOKEN=token),
                                            seconds, connections)
            name = "register+remove cycle, " + label + (f" ({bad} non-2xx)" if bad else "")
            results.append((backend, name, f"{rps / 2:.0f}/s", f"{p50:.2f}", f"{p99:.2f}", ""))
        began = time.monotonic()
        while pending(down_url) and time.monotonic() - began < 300:
            time.sleep(0.05)
        left = pending(down_url)
        results.append((backend, "A's outbox empty after the run", f"{time.monotonic() - began:.1f} s", "", "",
                        f"{left} left" if left else ""))
        proc_a.terminate()
        proc_a.wait(timeout=30)
        servers.remove(proc_a)
        seed(down_url, n, reseller_id(down_url, "bench"))
        seed(up_url, n, reseller_id(up_url, "partner"))
        for checkins in (False, True):
            elapsed, peak, status, summary = timed_reconcile(env_a, checkins)
            what = f"reconcile of {n} licenses" + (", with check-ins" if checkins else ", --no-checkins")
            results.append((backend, what, f"{elapsed:.1f} s", "", "",
                            f"peak RSS {peak:.0f} MB, exit {status}" + (f": {summary[0]}" if summary else "")))
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)
        drop(up_url)
        drop(down_url)
        shutil.rmtree(work, ignore_errors=True)


def main(n, seconds, connections, backends):
    results = []
    for backend in backends:
        bench_backend(backend, n, seconds, connections, results)
    common.print_table(f"relay: {connections} connections, {seconds} s per run, upstream limits "
                       f"{CONCURRENCY} at once and {RATE}/s, {os.cpu_count()} cores",
                       ("backend", "measure", "rate / time", "p50 ms", "p99 ms", "notes"), results)
