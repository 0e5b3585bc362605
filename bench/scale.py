"""Growth mode of the benchmark (`bench/run.sh --scale 10000,100000,1000000`, docs/benchmarks.md).

For each size N, on a fresh Postgres database: 1,000 resellers; `bench` holds N licenses
created over the past year (nine in ten checked in within the hour, the rest 30 days ago),
the other 999 hold 10 each; the history has a register event per license plus N/10 licenses
registered and removed again during the year. Then it measures check.json under wrk, list.json
of the N licenses, usage.json and `ipls report usage` for `bench`, `ipls report stale`, and the
time to apply the last two migrations to a database of that size (rolled back first).
"""
import concurrent.futures, csv, os, secrets, shutil, subprocess, tempfile, time, urllib.request

import run as common

OTHER_RESELLERS = 999
LICENSES_EACH = 10
# Rolled back and applied again to measure migration time: the webhooks migration builds an
# index over ip_licenses, the activation keys one adds a column to license_events.
REAPPLIED = ["2026-11-29-000009_activation_keys", "2026-11-29-000008_webhooks"]


def ip_expr(first_octet, var="i"):
    return (f"'{first_octet}.' || (({var} / 65536) % 256) || '.' || (({var} / 256) % 256) || '.' || ({var} % 256)")


def seed(url, n, rid, env):
    """Resellers through the CLI; licenses and a year of history by SQL (seconds, not hours)."""
    began = time.monotonic()
    # Through the CLI: each account's secret is sealed under the master key with its login.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda g: common.run([common.BIN, "reseller", "add", f"r{g}", "--types", "1"], env=env),
                      range(1, OTHER_RESELLERS + 1)))
    common.psql(url, f"""
        INSERT INTO ip_licenses (reseller_id, ip, type_id, slot, els_allowed, created_at, last_checkin)
        SELECT {rid}, {ip_expr(10)}, 1, 'cloudlinux', false,
               now()::timestamp - interval '365 days' + (i::float / {n}) * interval '364 days',
               now()::timestamp - CASE WHEN i % 10 = 0 THEN interval '30 days' ELSE interval '1 hour' END
          FROM generate_series(0, {n - 1}) AS i;
        INSERT INTO ip_licenses (reseller_id, ip, type_id, slot, els_allowed, created_at, last_checkin)
        SELECT r.id, {ip_expr(12, "(r.id * 16 + k)")}, 1, 'cloudlinux', false,
               now()::timestamp - interval '200 days', now()::timestamp - interval '1 hour'
          FROM resellers r, generate_series(0, {LICENSES_EACH - 1}) AS k WHERE r.id <> {rid};
        INSERT INTO license_events (at, reseller_id, action, ip, type_id, source)
        SELECT created_at, reseller_id, 'register', ip, type_id, 'seed' FROM ip_licenses;
        INSERT INTO license_events (at, reseller_id, action, ip, type_id, source)
        SELECT now()::timestamp - interval '365 days' + (i::float / {max(n // 10, 1)}) * interval '300 days' + e * interval '20 days',
               {rid}, CASE WHEN e = 0 THEN 'register' ELSE 'remove' END, {ip_expr(11)}, 1, 'seed'
          FROM generate_series(0, {max(n // 10, 1) - 1}) AS i, generate_series(0, 1) AS e
         ORDER BY 1;
        ANALYZE;""")
    events = int(common.psql(url, f"SELECT count(*) FROM license_events WHERE reseller_id = {rid}"))
    return time.monotonic() - began, events


def timed_cli(args, env):
    """Wall time (ms) and peak RSS (MB, GNU time's %M) of one `ipls` command; its output is
    discarded."""
    began = time.monotonic()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", common.BIN] + args, env=env, check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = (time.monotonic() - began) * 1000
    return elapsed, int(done.stderr.strip().splitlines()[-1]) / 1024


def usage_probe(port, token, pid):
    """Time and server RSS growth of one usage.json for the current month."""
    before = common.rss_kb(pid)
    began = time.monotonic()
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/usage.json?token={token}", timeout=120).read()
    total = (time.monotonic() - began) * 1000
    return total, (common.rss_kb(pid, "VmHWM") - before) / 1024, len(body)


def migration_time(url, env):
    """Rolls the last migrations back and times `ipls migrate` applying them again."""
    for name in REAPPLIED:
        with open(os.path.join(common.ROOT, "migrations", "postgres", name, "down.sql")) as f:
            common.psql(url, "BEGIN;" + f.read() + f"DELETE FROM __diesel_schema_migrations WHERE version = '{name.split('_')[0].replace('-', '')}'; COMMIT;")
    began = time.monotonic()
    common.run([common.BIN, "migrate"], env=env)
    return (time.monotonic() - began) * 1000


def measure(n, seconds, connections):
    work = tempfile.mkdtemp(prefix="ipls-scale-")
    env = dict(os.environ, BENCH_DIR=work, IPLS_MASTER_KEY=secrets.token_hex(32), IPLS_TOKEN_WINDOW="86400",
               IPLS_ALLOW_PRIVATE_IPS="true", IPLS_AUTH_FAILURE_BURST="100000", RUST_LOG="warn")
    dbname = f"ipls_scale_{os.getpid()}"
    common.psql(common.ADMIN, f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
    common.psql(common.ADMIN, f"CREATE DATABASE {dbname}")
    url = common.ADMIN.rsplit("/", 1)[0] + "/" + dbname
    env["DATABASE_URL"] = url
    row = {"licenses": n}
    try:
        common.run([common.BIN, "migrate"], env=env)
        common.run([common.BIN, "reseller", "add", "bench", "--secret", common.SECRET], env=env)
        rid = int(common.psql(url, "SELECT id FROM resellers WHERE login = 'bench'"))
        row["seed_s"], row["events"] = seed(url, n, rid, env)
        row["migrate_ms"] = migration_time(url, env)
        token = common.run([common.BIN, "token", "bench"], env=env).strip().replace("|", "%7C")
        port = common.free_port()
        proc, _ = common.start_server(env, port)
        try:
            time.sleep(0.5)
            _, row["list_ms"], row["list_mb"], rows = common.list_probe(port, token, proc.pid)
            assert rows == n, f"list.json gave {rows} of {n} licenses"
            row["usage_json_ms"], row["usage_json_mb"], _ = usage_probe(port, token, proc.pid)
            wenv = dict(env, BENCH_TOKEN=token, BENCH_N=str(n), BENCH_PATH="/api/ipl/check.json")
            rps, row["check_p50_ms"], row["check_p99_ms"], bad = common.wrk(
                f"http://127.0.0.1:{port}/api/ipl/check.json", os.path.join(common.ROOT, "bench", "wrk", "random_ip.lua"),
                wenv, seconds, connections)
            row["check_rate"] = rps
            assert bad == 0, f"{bad} check.json calls failed"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        row["stale_ms"], row["stale_mb"] = timed_cli(["report", "stale", "--format", "csv"], env)
        row["report_ms"], row["report_mb"] = timed_cli(["report", "usage", "--reseller", "bench", "--format", "csv"], env)
    finally:
        common.psql(common.ADMIN, f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        shutil.rmtree(work, ignore_errors=True)
    return row


COLUMNS = [("licenses", "licenses", "{:,}"), ("events", "bench's events", "{:,}"), ("seed_s", "seed s", "{:.0f}"),
           ("check_p50_ms", "check p50 ms", "{:.2f}"), ("check_p99_ms", "check p99 ms", "{:.2f}"),
           ("check_rate", "check /s", "{:,.0f}"), ("list_ms", "list.json ms", "{:,.0f}"),
           ("list_mb", "list.json RSS +MB", "{:.1f}"), ("usage_json_ms", "usage.json ms", "{:,.0f}"),
           ("usage_json_mb", "usage.json RSS +MB", "{:.1f}"), ("report_ms", "report usage ms", "{:,.0f}"),
           ("report_mb", "report usage peak MB", "{:.1f}"), ("stale_ms", "report stale ms", "{:,.0f}"),
           ("stale_mb", "report stale peak MB", "{:.1f}"), ("migrate_ms", "migrate ms", "{:,.0f}")]


def plot(rows, path):
    """Cost against size, log-log, drawn with matplotlib (PyPI; bench/run.sh installs it)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sizes = [r["licenses"] for r in rows]
    fig, (times, memory) = plt.subplots(1, 2, figsize=(12, 4.8))
    for key, label in [("check_p50_ms", "check.json p50"), ("check_p99_ms", "check.json p99"),
                       ("list_ms", "list.json (all licenses)"), ("usage_json_ms", "usage.json"),
                       ("report_ms", "ipls report usage"), ("stale_ms", "ipls report stale"),
                       ("migrate_ms", "migrations (last two)")]:
        times.plot(sizes, [r[key] for r in rows], marker="o", label=label)
    for key, label in [("list_mb", "list.json: server RSS growth"), ("usage_json_mb", "usage.json: server RSS growth"),
                       ("report_mb", "ipls report usage: peak RSS"), ("stale_mb", "ipls report stale: peak RSS")]:
        memory.plot(sizes, [r[key] for r in rows], marker="o", label=label)
    for axis, ylabel in [(times, "milliseconds"), (memory, "MB")]:
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("licenses held by the measured reseller")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    times.set_title("time against size")
    memory.set_title("memory against size")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(sizes, seconds, connections, plot_path):
    rows = [measure(n, seconds, connections) for n in sizes]
    table = [[fmt.format(r[key]) for key, _, fmt in COLUMNS] for r in rows]
    common.print_table(f"growth: {seconds} s of check.json per size at {connections} connections, "
                       f"{os.cpu_count()} cores, Postgres", [title for _, title, _ in COLUMNS], table)
    with open(os.path.splitext(plot_path)[0] + ".csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([key for key, _, _ in COLUMNS])
        writer.writerows([[r[key] for key, _, _ in COLUMNS] for r in rows])
    plot(rows, plot_path)
    print(f"plot: {plot_path}")
