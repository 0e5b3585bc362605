#!/usr/bin/env python3
"""KernelCare monitoring figures (docs/benchmarks.md): the Nagios answers and patchset.json
for a reseller whose one KernelCare key holds N servers, on Postgres and SQLite, against the
release binary.

    cargo build --release && python3 bench/kcare_monitoring.py [N]

The servers are seeded straight into the database (one key, N servers that reported a
kernel; every tenth out of date, every fiftieth unsupported, every hundredth silent for three
days). Each figure is the median of 20 requests (wall time of the whole HTTP exchange on
loopback), with the answer's size, and how far the server's peak RSS (VmHWM, reset just
before) rose above its RSS during those requests.
"""
import os, secrets, sqlite3, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the main benchmark's helpers: server start, RSS, psql)

RUNS = 20

# One row per server: (server_id, key_id, ip, hostname, created_at, last_checkin, kernel_id,
# patch_level, latest_patch_level, kernel_supported), as SQL over i.
PG_ROWS = """SELECT 'S' || lpad(i::text, 15, '0'), {key}, '10.' || ((i / 65536) % 256) || '.' ||
    ((i / 256) % 256) || '.' || (i % 256), 'host' || i || '.example', now()::timestamp,
    now()::timestamp - CASE WHEN i % 100 = 0 THEN interval '3 days' ELSE interval '1 hour' END,
    'k' || (i % 40), 12 - CASE WHEN i % 10 = 0 THEN 3 ELSE 0 END, 12, i % 50 <> 0
    FROM generate_series(0, {last}) AS i"""


def seed(backend, url, n):
    columns = ("server_id, key_id, ip, hostname, created_at, last_checkin, kernel_id, patch_level, "
               "latest_patch_level, kernel_supported")
    if backend == "postgres":
        key = int(bench.psql(url, "SELECT id FROM activation_keys WHERE type_id = 16 AND is_default"))
        bench.psql(url, f"INSERT INTO key_servers ({columns}) " + PG_ROWS.format(key=key, last=n - 1)
                   + f"; UPDATE activation_keys SET servers = {n} WHERE id = {key}; ANALYZE;")
        return bench.psql(url, f"SELECT key_text FROM activation_keys WHERE id = {key}").strip()
    db = sqlite3.connect(url[len("sqlite://"):])
    key, text = db.execute("SELECT id, key_text FROM activation_keys WHERE type_id = 16 AND is_default").fetchone()
    now = time.time()
    stamp = lambda t: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))  # noqa: E731
    rows = ((f"S{i:015d}", key, f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", f"host{i}.example",
             stamp(now), stamp(now - (3 * 86400 if i % 100 == 0 else 3600)), f"k{i % 40}",
             12 - (3 if i % 10 == 0 else 0), 12, int(i % 50 != 0)) for i in range(n))
    db.executemany(f"INSERT INTO key_servers ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    db.execute("UPDATE activation_keys SET servers = ? WHERE id = ?", (n, key))
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return text


def measure(url, pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")
    before = bench.rss_kb(pid, "VmRSS")
    times, size = [], 0
    for _ in range(RUNS):
        began = time.monotonic()
        body = urllib.request.urlopen(url, timeout=60).read()
        times.append((time.monotonic() - began) * 1000)
        size = len(body)
    grown = (bench.rss_kb(pid, "VmHWM") - before) / 1024
    return statistics.median(times), size, grown


def bench_backend(backend, n, results):
    work = tempfile.mkdtemp(prefix="ipls-kcare-bench-")
    env = dict(os.environ, BENCH_DIR=work, IPLS_MASTER_KEY=secrets.token_hex(32), RUST_LOG="warn",
               IPLS_CHECKIN_PER_MINUTE="100000")
    dbname = f"ipls_kcare_bench_{os.getpid()}"
    if backend == "postgres":
        bench.psql(bench.ADMIN, f"DROP DATABASE IF EXISTS {dbname}")
        bench.psql(bench.ADMIN, f"CREATE DATABASE {dbname}")
        url = bench.ADMIN.rsplit("/", 1)[0] + "/" + dbname
    else:
        url = "sqlite://" + os.path.join(work, "bench.db")
    env["DATABASE_URL"] = url
    bench.run([bench.BIN, "migrate"], env=env)
    bench.run([bench.BIN, "reseller", "add", "bench", "--types", "16", "--secret", bench.SECRET], env=env)
    key = seed(backend, url, n)
    token = bench.run([bench.BIN, "key", "monitoring-token", "--reseller", "bench"], env=env).strip()
    port = bench.free_port()
    proc, _ = bench.start_server(env, port)
    try:
        base = f"http://127.0.0.1:{port}"
        for name, path in [
            ("Nagios, key form", f"/api/kcare/nagios/{key}"),
            ("Nagios, reseller form", f"/clweb/api/kcare/nagios-res/bench/{token}"),
            ("patchset.json", f"/api/kcare/patchset.json?key={key}"),
        ]:
            median, size, grown = measure(base + path, proc.pid)
            results.append((backend, name, f"{median:.0f} ms", f"{size / 1024:.0f} KB", f"+{grown:.1f} MB"))
        first = urllib.request.urlopen(base + f"/api/kcare/nagios/{key}").read().decode().split("\n")[0]
        results.append((backend, "first line", first, "", ""))
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
    print(f"| backend | answer ({n} servers) | median | size | peak RSS |")
    print("|---|---|---|---|---|")
    for row in results:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
