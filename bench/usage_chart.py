#!/usr/bin/env python3
"""The console's pictures at scale (docs/benchmarks.md, "Console"): the usage page with its
twelve-month chart and the dashboard with its 90-day lines, for a reseller with N licenses
and a year of history, on Postgres, against the release binary.

    cargo build --release && python3 bench/usage_chart.py [N]

The data is bench/scale.py's (N licenses created over the past year, a register event each,
N/10 more registered and removed 20 days later). Each figure is the median wall time of 5
requests over loopback; usage.json for the current month is measured the same way beside them.
"""
import os, secrets, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as common  # noqa: E402
import scale  # noqa: E402
from console import PASSWORD, log_in, opener  # noqa: E402

RUNS = 5


def median_ms(fetch):
    times = []
    for _ in range(RUNS):
        began = time.monotonic()
        fetch()
        times.append((time.monotonic() - began) * 1000)
    return statistics.median(times)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    work = tempfile.mkdtemp(prefix="ipls-usage-chart-")
    env = dict(os.environ, BENCH_DIR=work, IPLS_MASTER_KEY=secrets.token_hex(32), IPLS_TOKEN_WINDOW="86400",
               RUST_LOG="warn")
    dbname = f"ipls_usage_chart_{os.getpid()}"
    common.psql(common.ADMIN, f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
    common.psql(common.ADMIN, f"CREATE DATABASE {dbname}")
    url = common.ADMIN.rsplit("/", 1)[0] + "/" + dbname
    env["DATABASE_URL"] = url
    try:
        common.run([common.BIN, "migrate"], env=env)
        common.run([common.BIN, "reseller", "add", "bench", "--secret", common.SECRET], env=env)
        rid = int(common.psql(url, "SELECT id FROM resellers WHERE login = 'bench'"))
        _, events = scale.seed(url, n, rid, env)
        subprocess.run([common.BIN, "user", "add", "bench@example.com", "--reseller", "bench", "--password-stdin"],
                       env=env, input=PASSWORD + "\n", check=True, capture_output=True, text=True)
        token = common.run([common.BIN, "token", "bench"], env=env).strip().replace("|", "%7C")
        port = common.free_port()
        proc, _ = common.start_server(env, port)
        try:
            base = f"http://127.0.0.1:{port}"
            web = opener()
            log_in(web, base)
            usage_json = median_ms(lambda: urllib.request.urlopen(f"{base}/api/usage.json?token={token}", timeout=120).read())
            page = web.open(base + "/console/usage").read()
            assert b"usage-chart" in page, page[:300]
            usage_page = median_ms(lambda: web.open(base + "/console/usage").read())
            dashboard = median_ms(lambda: web.open(base + "/console/dashboard").read())
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        print(f"| measure ({n} licenses, {events} events of bench's, Postgres) | median of {RUNS} |")
        print("|---|---|")
        print(f"| usage.json, the current month | {usage_json:,.0f} ms |")
        print(f"| Usage page: the month and the twelve-month chart | {usage_page:,.0f} ms |")
        print(f"| Dashboard with its 90-day lines | {dashboard:,.0f} ms |")
    finally:
        common.psql(common.ADMIN, f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


if __name__ == "__main__":
    main()
