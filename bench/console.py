#!/usr/bin/env python3
"""Console figures (docs/benchmarks.md): the IP Licenses page and the CSV export for a
reseller with N licenses, on Postgres and SQLite, against the release binary.

    cargo build --release && python3 bench/console.py [N]

Each page figure is the median server time of 20 requests (wall time of the whole HTTP
exchange on loopback), at the first page, the middle and the last page, in IP order and in
date-added order, and with a CIDR filter and a text search. The CSV figure is one full
export: total time, rows, and how far the server's peak RSS (VmHWM, reset just before through
/proc/PID/clear_refs) rose above its RSS at the start of the export.
"""
import http.cookiejar, os, re, secrets, sqlite3, statistics, subprocess, sys, tempfile, time, urllib.parse, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the main benchmark's helpers: seeding, server start, RSS)

PASSWORD = "console-bench-password"
RUNS = 20


def opener():
    jar = http.cookiejar.CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))


def log_in(web, base):
    page = web.open(base + "/console/login").read().decode()
    token = re.search(r'name="login_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"email": "bench@example.com", "password": PASSWORD, "login_token": token})
    web.open(base + "/console/login", data=form.encode()).read()


def median_ms(web, url):
    times = []
    for _ in range(RUNS):
        began = time.monotonic()
        body = web.open(url).read()
        times.append((time.monotonic() - began) * 1000)
        assert b"Not done" not in body, body[:500]
    return statistics.median(times)


def cursors(backend, url, rid, n):
    """The `after` values (ID~VALUE) that open the middle and the last page, per order."""
    sql_ip = f"SELECT id, ip FROM ip_licenses WHERE reseller_id = {rid} ORDER BY ip_key, id LIMIT 1 OFFSET %d"
    sql_added = (f"SELECT id, created_at FROM ip_licenses WHERE reseller_id = {rid} "
                 "ORDER BY created_at, id LIMIT 1 OFFSET %d")
    out = {}
    for name, sql in (("ip", sql_ip), ("added", sql_added)):
        for where, offset in (("middle", n // 2), ("last", n - 51)):
            if backend == "postgres":
                row = bench.psql(url, sql % offset).strip().split("|")
            else:
                db = sqlite3.connect(url[len("sqlite://"):])
                row = [str(v) for v in db.execute(sql % offset).fetchone()]
                db.close()
            value = row[1].replace(" ", "T")
            if name == "added" and "." not in value:
                value += ".0"
            out[(name, where)] = f"{row[0]}~{value}"
    return out


def bench_backend(backend, n, results):
    work = tempfile.mkdtemp(prefix="ipls-console-bench-")
    env = dict(os.environ, BENCH_DIR=work, IPLS_MASTER_KEY=secrets.token_hex(32), RUST_LOG="warn")
    dbname = f"ipls_console_bench_{os.getpid()}"
    if backend == "postgres":
        bench.psql(bench.ADMIN, f"DROP DATABASE IF EXISTS {dbname}")
        bench.psql(bench.ADMIN, f"CREATE DATABASE {dbname}")
        url = bench.ADMIN.rsplit("/", 1)[0] + "/" + dbname
    else:
        url = "sqlite://" + os.path.join(work, "bench.db")
    env["DATABASE_URL"] = url
    bench.run([bench.BIN, "migrate"], env=env)
    bench.run([bench.BIN, "reseller", "add", "bench", "--secret", bench.SECRET], env=env)
    subprocess.run([bench.BIN, "user", "add", "bench@example.com", "--reseller", "bench", "--password-stdin"],
                   env=env, input=PASSWORD + "\n", check=True, capture_output=True, text=True)
    if backend == "postgres":
        rid = int(bench.psql(url, "SELECT id FROM resellers WHERE login = 'bench'"))
        bench.seed_postgres(url, n, rid)
    else:
        db = sqlite3.connect(url[len("sqlite://"):])
        rid = db.execute("SELECT id FROM resellers WHERE login = 'bench'").fetchone()[0]
        db.close()
        bench.seed_sqlite(url[len("sqlite://"):], n, rid)
    after = cursors(backend, url, rid, n)
    # As after an upgrade from a version without ip_key: the first start fills every row's.
    if backend == "postgres":
        bench.psql(url, "UPDATE ip_licenses SET ip_key = ''")
    else:
        db = sqlite3.connect(url[len("sqlite://"):])
        db.execute("UPDATE ip_licenses SET ip_key = ''")
        db.commit()
        db.close()
    port = bench.free_port()
    proc, started_ms = bench.start_server(env, port)
    results.append((backend, f"first start after the upgrade, filling {n} rows' ip_key", f"{started_ms / 1000:.1f} s"))
    try:
        base = f"http://127.0.0.1:{port}"
        web = opener()
        log_in(web, base)
        pages = [
            ("IP order, first page", "/console/licenses"),
            ("IP order, middle page", "/console/licenses?after=" + urllib.parse.quote(after[("ip", "middle")])),
            ("IP order, last page", "/console/licenses?after=" + urllib.parse.quote(after[("ip", "last")])),
            ("added order, first page", "/console/licenses?sort=added"),
            ("added order, middle page",
             "/console/licenses?sort=added&after=" + urllib.parse.quote(after[("added", "middle")])),
            ("added order, last page",
             "/console/licenses?sort=added&after=" + urllib.parse.quote(after[("added", "last")])),
            ("CIDR filter 10.1.0.0/16, first page", "/console/licenses?ip=10.1.0.0%2F16"),
            ("search '10.1.200.', first page", "/console/licenses?q=10.1.200."),
        ]
        for name, path in pages:
            results.append((backend, f"IP Licenses page: {name}", f"{median_ms(web, base + path):.1f} ms"))
        # Every seeded server has never checked in: with days=0 all of them are silent.
        silent = [
            ("all silent, first page", "/console/stale?days=0"),
            ("all silent, CIDR filter 10.1.0.0/16", "/console/stale?days=0&ip=10.1.0.0%2F16"),
            ("all silent, 200 rows a page", "/console/stale?days=0&per=200"),
        ]
        for name, path in silent:
            size = len(web.open(base + path).read()) / 1024
            results.append((backend, f"Not checking in: {name}", f"{median_ms(web, base + path):.1f} ms, {size:.0f} KB"))
        results.append((backend, "Dashboard (counts the silent servers; draws the 90-day lines)", f"{median_ms(web, base + '/console/dashboard'):.1f} ms"))
        # Reset the peak (VmHWM) to the current RSS, so the figure is what the export added.
        with open(f"/proc/{proc.pid}/clear_refs", "w") as f:
            f.write("5")
        before = bench.rss_kb(proc.pid, "VmRSS")
        began = time.monotonic()
        body = web.open(base + "/console/licenses.csv").read()
        total = (time.monotonic() - began) * 1000
        rows = body.count(b"\n") - 1
        grown = (bench.rss_kb(proc.pid, "VmHWM") - before) / 1024
        results.append((backend, f"CSV export of {rows} rows", f"{total:.0f} ms, peak RSS +{grown:.1f} MB"))
    finally:
        proc.terminate()
        proc.wait()
        if backend == "postgres":
            bench.psql(bench.ADMIN, f"DROP DATABASE IF EXISTS {dbname}")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    results = []
    for backend in ("postgres", "sqlite"):
        bench_backend(backend, n, results)
    print(f"| backend | measure ({n} licenses) | figure |")
    print("|---|---|---|")
    for row in results:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
