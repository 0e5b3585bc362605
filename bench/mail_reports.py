#!/usr/bin/env python3
"""Mail report figures (docs/benchmarks.md, "Reports by mail"): the first daily report when N
servers have all stopped checking in at once, on Postgres and SQLite, against the release binary.

    cargo build --release && python3 bench/mail_reports.py [N]

One reseller `bench` holds N licenses (bench/run.py's seeding), every one silent for two days;
its cloudlinux reports go to one address. An aiosmtpd sink (tests/common/smtp_sink.py, with
Debian's /usr/bin/python3 and python3-aiosmtpd) receives the mail. The figures: how long the
deciding transaction took (ipls logs it: it marks N servers and queues the mails), the time
from the server's start to the report's arrival, the mail's size, and the time of check.json
calls made while the report is decided (a write transaction: reads must not wait for it).
"""
import os, secrets, statistics, subprocess, sys, tempfile, threading, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402

SINK = os.path.join(bench.ROOT, "tests", "common", "smtp_sink.py")


def sink(work):
    port = bench.free_port()
    maildir, control = os.path.join(work, "maildir"), os.path.join(work, "control")
    os.makedirs(control)
    proc = subprocess.Popen(["/usr/bin/python3", SINK, "127.0.0.1", str(port), maildir, control],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            import socket
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port, os.path.join(maildir, "new")
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the SMTP sink did not start")


def bench_backend(backend, n, results):
    work = tempfile.mkdtemp(prefix="ipls-mail-bench-")
    env, url, rid, token = bench.fresh_backend(backend, n, work)
    old = "now() - interval '2 days'" if backend == "postgres" else "datetime('now', '-2 days')"
    if backend == "postgres":
        bench.psql(url, f"UPDATE ip_licenses SET created_at = {old}")
    else:
        import sqlite3
        db = sqlite3.connect(url[len("sqlite://"):])
        db.execute(f"UPDATE ip_licenses SET created_at = {old}")
        db.commit()
        db.close()
    bench.run([bench.BIN, "reseller", "reports", "bench", "--family", "cloudlinux", "--active", "on",
               "--to", "bench@example.com"], env=env)
    smtp, smtp_port, new = sink(work)
    env.update(IPLS_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}?tls=none", IPLS_MAIL_FROM="ipls@example.com",
               IPLS_MAIL_POLL_MS="100", RUST_LOG="info")
    port = bench.free_port()
    # check.json while the report is decided: every call's time.
    times, stop = [], threading.Event()

    def probe():
        while not stop.is_set():
            began = time.monotonic()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/ipl/check.json?ip=10.0.0.1&token={token}",
                                       timeout=10).read()
                times.append((time.monotonic() - began) * 1000)
            except Exception:
                time.sleep(0.002)

    proc, started = bench.start_server(env, port)
    began = time.monotonic()
    thread = threading.Thread(target=probe)
    thread.start()
    try:
        while not (os.path.isdir(new) and os.listdir(new)):
            if time.monotonic() - began > 600:
                raise SystemExit("no report within 10 minutes")
            time.sleep(0.05)
        arrived = (time.monotonic() - began) * 1000
    finally:
        stop.set()
        thread.join()
        proc.terminate()
        proc.wait()
        smtp.terminate()
    log = open(os.path.join(work, f"server-{port}.log")).read()
    decided = [line for line in log.splitlines() if "daily report for" in line]
    took = decided[0].split("the look took ")[1].split(" ms")[0] if decided else "?"
    size = os.path.getsize(os.path.join(new, os.listdir(new)[0])) / 1024
    results.append((backend, f"first daily report, {n} servers silent: deciding transaction", f"{took} ms"))
    results.append((backend, "from the server's start to the report's arrival", f"{arrived:.0f} ms"))
    results.append((backend, "the mail (1,000 servers listed, the rest counted)", f"{size:.0f} KB"))
    if times:
        results.append((backend, f"check.json meanwhile: {len(times)} calls, median / max",
                        f"{statistics.median(times):.1f} / {max(times):.1f} ms"))
    bench.drop_backend(backend, url)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    results = []
    for backend in ("postgres", "sqlite"):
        bench_backend(backend, n, results)
    bench.print_table(f"Reports by mail, {n} silent servers", ("backend", "what", "figure"), results)


if __name__ == "__main__":
    main()
