#!/usr/bin/env python3
"""ipls benchmark driver (see docs/benchmarks.md).

For each backend: a fresh database, one reseller `bench` holding N licenses of type 1 on
10.x.y.z, ipls started from the release binary, then wrk at the same concurrency as pgbench
runs the SQL each endpoint executes (Postgres only). Prints one table.
"""
import argparse, glob, json, os, re, secrets, shutil, socket, sqlite3, statistics, subprocess, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# IPLS_BENCH_BIN: another build to measure (a "before" binary, say).
BIN = os.environ.get("IPLS_BENCH_BIN", os.path.join(ROOT, "target", "release", "ipls"))
PGBENCH = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))[-1]
ADMIN = os.environ.get("IPLS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SECRET = "bench-secret-0123456789"


def run(cmd, env=None, **kw):
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, **kw)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} {cmd[1:3]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def psql(url, sql):
    return run(["psql", "-qAtX", url, "-c", sql])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def seed_postgres(url, n, rid):
    # ip_key: the address's order key as ipls writes it (LicenseIp::order_key): 4 and eight hex digits.
    psql(url, f"""INSERT INTO ip_licenses (reseller_id, ip, type_id, slot, els_allowed, created_at, ip_key)
        SELECT {rid}, '10.' || ((i / 65536) % 256) || '.' || ((i / 256) % 256) || '.' || (i % 256),
               1, 'cloudlinux', false, now()::timestamp,
               '4' || lpad(to_hex(167772160 + (i % 16777216)), 8, '0') FROM generate_series(0, {n - 1}) AS i;
        ANALYZE;""")


def seed_sqlite(path, n, rid):
    db = sqlite3.connect(path)
    now = time.strftime("%Y-%m-%d %H:%M:%S")
    rows = ((rid, f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", 1, "cloudlinux", 0, now,
             f"4{0x0A000000 + (i & 0xFFFFFF):08x}") for i in range(n))
    db.executemany("INSERT INTO ip_licenses (reseller_id, ip, type_id, slot, els_allowed, created_at, ip_key) "
                   "VALUES (?,?,?,?,?,?,?)", rows)
    db.commit()
    db.execute("ANALYZE")
    db.close()


def start_server(env, port):
    log = open(os.path.join(env["BENCH_DIR"], f"server-{port}.log"), "w")
    began = time.monotonic()
    proc = subprocess.Popen([BIN, "serve", "--bind", f"127.0.0.1:{port}"], env=env, stdout=log, stderr=log)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status.json", timeout=1).read()
            return proc, (time.monotonic() - began) * 1000
        except Exception:
            if proc.poll() is not None:
                raise SystemExit("ipls exited; see " + log.name)
            time.sleep(0.002)


def wrk(url, script, env, seconds, connections, threads=2):
    return wrk_finish(wrk_start(url, script, env, seconds, connections, threads))


def wrk_start(url, script, env, seconds, connections, threads=2):
    """wrk running in the background (several at once share the machine)."""
    return subprocess.Popen(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script, url],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wrk_finish(proc):
    """Rate, p50 ms, p99 ms and non-2xx answers of a wrk started by wrk_start."""
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}): {err.strip()}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, to_ms(pct.get("50")), to_ms(pct.get("99")), int(errors.group(1)) if errors else 0


def to_ms(text):
    if not text:
        return float("nan")
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def pgbench(url, script, seconds, connections, variables):
    logdir = tempfile.mkdtemp()
    args = [PGBENCH, "-n", "-M", "prepared", "-c", str(connections), "-j", "2", "-T", str(seconds),
            "-f", os.path.join(ROOT, "bench", "pgbench", script), "-l", "--log-prefix", os.path.join(logdir, "tx")]
    for k, v in variables.items():
        args += ["-D", f"{k}={v}"]
    out = run(args + [url])
    tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", out).group(1))
    latencies = []
    for path in glob.glob(os.path.join(logdir, "tx*")):
        with open(path) as f:
            latencies += [int(line.split()[2]) / 1000 for line in f]
    shutil.rmtree(logdir)
    q = statistics.quantiles(latencies, n=100)
    return tps, q[49], q[98]


def list_probe(port, token, pid):
    """Time to first byte, total time and peak RSS growth of one list.json."""
    before = rss_kb(pid)
    began = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ipl/list.json?token={token}", timeout=60) as response:
        first = response.read(1)
        ttfb = (time.monotonic() - began) * 1000
        rest = response.read()
    total = (time.monotonic() - began) * 1000
    rows = json.loads(first + rest)["data"]
    return ttfb, total, (rss_kb(pid, "VmHWM") - before) / 1024, len(rows)


def fresh_backend(backend, n, work, extra=None):
    """A fresh database of `backend` (migrated, reseller `bench` holding n licenses of type 1)
    and the environment to serve it: (env, url, reseller id, token)."""
    env = dict(os.environ, BENCH_DIR=work, IPLS_MASTER_KEY=secrets.token_hex(32), IPLS_TOKEN_WINDOW="86400",
               IPLS_ALLOW_PRIVATE_IPS="true", IPLS_AUTH_FAILURE_BURST="100000", RUST_LOG="warn", **(extra or {}))
    dbname = f"ipls_bench_{os.getpid()}"
    if backend == "postgres":
        psql(ADMIN, f"DROP DATABASE IF EXISTS {dbname}")
        psql(ADMIN, f"CREATE DATABASE {dbname}")
        url = ADMIN.rsplit("/", 1)[0] + "/" + dbname
    else:
        url = "sqlite://" + os.path.join(work, "bench.db")
    env["DATABASE_URL"] = url
    # ipls keeps its default pools (IPLS_POOL_SIZE 8 for writes, as many for reads) on both
    # backends: 32 connections' reads share coalesced statements, and 8 writing transactions at
    # once keep the write tail shorter on 2 cores than 32 (docs/benchmarks.md, "Pool size").
    run([BIN, "migrate"], env=env)
    run([BIN, "reseller", "add", "bench", "--secret", SECRET], env=env)
    if backend == "postgres":
        rid = int(psql(url, "SELECT id FROM resellers WHERE login = 'bench'"))
        seed_postgres(url, n, rid)
    else:
        db = sqlite3.connect(url[len("sqlite://"):])
        rid = db.execute("SELECT id FROM resellers WHERE login = 'bench'").fetchone()[0]
        db.close()
        seed_sqlite(url[len("sqlite://"):], n, rid)
    token = run([BIN, "token", "bench"], env=env).strip().replace("|", "%7C")
    return env, url, rid, token


def drop_backend(backend, url):
    if backend == "postgres":
        psql(ADMIN, f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def bench_backend(backend, n, seconds, connections, results):
    work = tempfile.mkdtemp(prefix="ipls-bench-")
    env, url, rid, token = fresh_backend(backend, n, work)
    port = free_port()
    proc, startup_ms = start_server(env, port)
    try:
        time.sleep(0.5)
        idle_mb = rss_kb(proc.pid) / 1024
        results.append((backend, "start-up (migrations applied)", f"{startup_ms:.0f} ms", "", "", "", ""))
        results.append((backend, "idle RSS", f"{idle_mb:.1f} MB", "", "", "", ""))
        base = f"http://127.0.0.1:{port}"
        ttfb, total, grown, rows = list_probe(port, token, proc.pid)
        results.append((backend, f"list.json of {rows} licenses", f"first byte {ttfb:.0f} ms, all {total:.0f} ms",
                        "", "", f"RSS +{grown:.1f} MB", ""))
        if backend == "postgres":
            tps, p50, _ = pgbench(url, "list.sql", seconds, 1, {"rid": rid})
            results.append((backend, "list.json (pgbench, 1 client)", "", f"{1000 / p50:.1f}/s",
                            f"{(1000 / total) / (1000 / p50):.2f}", f"{p50:.0f} ms", ""))
        wenv = dict(env, BENCH_TOKEN=token, BENCH_N=str(n))
        cases = [("check.json", "check.sql", "random_ip.lua", "/api/ipl/check.json", 1),
                 ("availability.json", "availability.sql", "random_ip.lua", "/api/ipl/availability.json", 1),
                 ("register+remove cycle", "register_remove.sql", "register_remove.lua", "/", 2)]
        for name, sql, script, path, per_cycle in cases:
            rps, p50, p99, bad = wrk(base + path, os.path.join(ROOT, "bench", "wrk", script),
                                     dict(wenv, BENCH_PATH=path), seconds, connections)
            rate = rps / per_cycle
            row = [backend, name, f"{rate:.0f}/s", "", "", f"{p50:.2f}", f"{p99:.2f}"]
            if bad:
                row[1] += f" ({bad} non-2xx)"
            if backend == "postgres":
                tps, _, _ = pgbench(url, sql, seconds, connections, {"n": n, "rid": rid})
                row[3] = f"{tps:.0f}/s"
                row[4] = f"{rate / tps:.2f}"
            results.append(tuple(row))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        drop_backend(backend, url)
        shutil.rmtree(work, ignore_errors=True)


PGBOUNCER = "postgres://postgres@127.0.0.1:16432"


def bench_instances(n, seconds, connections, counts, results):
    """Several ipls instances on one Postgres database, directly and through PgBouncer
    (.ci/pgbouncer.sh, transaction pooling): wrk's threads spread over the instances."""
    work = tempfile.mkdtemp(prefix="ipls-bench-")
    dbname = f"ipls_bench_{os.getpid()}"
    psql(ADMIN, f"DROP DATABASE IF EXISTS {dbname}")
    psql(ADMIN, f"CREATE DATABASE {dbname}")
    direct = ADMIN.rsplit("/", 1)[0] + "/" + dbname
    env = dict(os.environ, BENCH_DIR=work, IPLS_MASTER_KEY=secrets.token_hex(32), IPLS_TOKEN_WINDOW="86400",
               IPLS_ALLOW_PRIVATE_IPS="true", IPLS_AUTH_FAILURE_BURST="100000", RUST_LOG="warn",
               DATABASE_URL=direct)
    try:
        run([BIN, "migrate"], env=env)
        run([BIN, "reseller", "add", "bench", "--secret", SECRET], env=env)
        rid = int(psql(direct, "SELECT id FROM resellers WHERE login = 'bench'"))
        seed_postgres(direct, n, rid)
        token = run([BIN, "token", "bench"], env=env).strip().replace("|", "%7C")
        for via, url, pooler in [("direct", direct, "false"), ("PgBouncer", f"{PGBOUNCER}/{dbname}", "true")]:
            for count in counts:
                # The same number of server connections in total, whatever the instance count.
                senv = dict(env, DATABASE_URL=url, IPLS_PG_TRANSACTION_POOLER=pooler,
                            IPLS_POOL_SIZE=str(max(2, connections // count)))
                servers = []
                try:
                    for _ in range(count):
                        port = free_port()
                        servers.append((start_server(senv, port)[0], port))
                    ports = ",".join(str(p) for _, p in servers)
                    time.sleep(0.5)
                    for name, script, path, per_cycle in [
                            ("check.json", "random_ip.lua", "/api/ipl/check.json", 1),
                            ("register+remove cycle", "register_remove.lua", "/", 2)]:
                        wenv = dict(env, BENCH_TOKEN=token, BENCH_N=str(n), BENCH_PATH=path, BENCH_PORTS=ports,
                                    BENCH_SCRIPT=os.path.join(ROOT, "bench", "wrk", script))
                        rps, p50, p99, bad = wrk(f"http://127.0.0.1:{servers[0][1]}{path}",
                                                 os.path.join(ROOT, "bench", "wrk", "spread.lua"), wenv,
                                                 seconds, connections, threads=max(2, count))
                        label = name + (f" ({bad} non-2xx)" if bad else "")
                        results.append((str(count), via, label, f"{rps / per_cycle:.0f}/s", f"{p50:.2f}", f"{p99:.2f}",
                                        share(servers)))
                finally:
                    for proc, _ in servers:
                        proc.terminate()
                        proc.wait(timeout=30)
    finally:
        psql(ADMIN, f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)


def served(port):
    """Requests this instance has answered so far (its /metrics counters)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith("ipls_requests_total{"))


def share(servers):
    """Each instance's share of the requests answered so far, e.g. 50/50."""
    counts = [served(port) for _, port in servers]
    total = sum(counts) or 1
    return "/".join(f"{100 * c / total:.0f}" for c in counts)


def print_table(title, header, results):
    widths = [max(len(str(r[i])) for r in results + [header]) for i in range(len(header))]
    print(title)
    for row in [header] + results:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--licenses", type=int, default=100000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--instances", help="e.g. 1,2,4: that many instances on one Postgres, "
                        "directly and through PgBouncer (start it with .ci/pgbouncer.sh)")
    parser.add_argument("--scale", help="e.g. 10000,100000,1000000: the growth table and plot "
                        "(bench/scale.py) instead of the usual runs")
    parser.add_argument("--plot", default=os.path.join(ROOT, "docs", "img", "scale.png"))
    parser.add_argument("--mixed", action="store_true", help="reads alone, writes alone, both at once "
                        "(bench/mixed.py)")
    parser.add_argument("--relay", action="store_true", help="register and remove through an upstream "
                        "(a second ipls) next to the direct figures, and reconcile (bench/relay.py)")
    parser.add_argument("--soak", type=int, metavar="MINUTES", help="rounds of mixed load and quiet for "
                        "MINUTES (at most 60) per backend, failing on growth that does not come back (bench/soak.py)")
    args = parser.parse_args()
    if args.soak:
        import soak
        soak.main(args.licenses, args.soak, args.backends.split(","))
        return
    if args.mixed:
        import mixed
        mixed.main(args.licenses, args.seconds, args.connections, args.backends.split(","))
        return
    if args.relay:
        import relay
        relay.main(args.licenses, args.seconds, args.connections, args.backends.split(","))
        return
    if args.scale:
        import scale
        scale.main([int(n) for n in args.scale.split(",")], args.seconds, args.connections, args.plot)
        return
    results = []
    if args.instances:
        counts = [int(c) for c in args.instances.split(",")]
        bench_instances(args.licenses, args.seconds, args.connections, counts, results)
        print_table(f"{args.licenses} licenses, {args.connections} connections spread over the instances, "
                    f"{args.seconds} s per run, {os.cpu_count()} cores",
                    ("instances", "via", "measure", "rate", "p50 ms", "p99 ms", "share %"), results)
        return
    for backend in args.backends.split(","):
        bench_backend(backend, args.licenses, args.seconds, args.connections, results)
    print_table(f"{args.licenses} licenses, {args.connections} connections, {args.seconds} s per run, "
                f"{os.cpu_count()} cores", ("backend", "measure", "ipls", "pgbench", "ratio", "p50 ms", "p99 ms"),
                results)


if __name__ == "__main__":
    main()
