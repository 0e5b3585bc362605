"""Soak mode of the benchmark (`bench/run.sh --soak MINUTES`, docs/benchmarks.md, "Soak").

For each backend: a fresh database with N licenses, one webhook endpoint (nginx, as in
bench/webhooks.py) subscribed to every event, and one `ipls serve`. Then, for MINUTES (at most
60): rounds of a load phase (check.json and the register+remove cycle beside each other, 16
connections each, 60 s) and a quiet phase (no calls, until the webhook backlog is empty, at most
60 s). Every 5 s it samples the server's RSS, the checkouts that waited for a connection
(`ipls_db_pool_waits_total` on /metrics, all lanes), and the webhook outbox's depth (deliveries
pending).

It fails (exit 1) on growth that does not come back:
- a quiet phase that ends with deliveries still pending (the backlog did not drain);
- a quiet phase in which a checkout waited for a connection;
- RSS at the end of the last quiet phase above 1.25 times the first's plus 16 MB (a leak grows
  every round; an allocator's high-water mark settles after the first).
Traffic goes to 127.0.0.1 only; every phase is bounded, so the run stops by itself.
"""
import os, shutil, tempfile, time, urllib.request

import run as common
import mixed
from webhooks import Receiver, pending

LOAD_SECONDS = 60
QUIET_LIMIT = 60
SAMPLE_EVERY = 5


def waits_total(port):
    """Checkouts so far that found no free connection and had to wait, all lanes together
    (`ipls_db_pool_waits_total`; a connection handed over at once is not a wait)."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in text.splitlines()
               if line.startswith("ipls_db_pool_waits_total{"))


def sample(backend, url, port, pid, began):
    waits = waits_total(port)
    return {"t": time.monotonic() - began, "rss": common.rss_kb(pid) / 1024, "waits": waits,
            "pending": pending(backend, url)}


def soak_backend(backend, n, minutes, rows, failures):
    work = tempfile.mkdtemp(prefix="ipls-bench-soak-")
    env, url, _, token = common.fresh_backend(backend, n, work, {"IPLS_WEBHOOK_ALLOW_PRIVATE": "true"})
    env = dict(env, BENCH_TOKEN=token, BENCH_N=str(n))
    receiver = Receiver(work)
    common.run([common.BIN, "webhook", "add", f"http://127.0.0.1:{receiver.port}/hook"], env=env)
    port = common.free_port()
    proc, _ = common.start_server(env, port)
    began = time.monotonic()
    quiet_ends = []
    try:
        round_no = 0
        while time.monotonic() - began < minutes * 60:
            round_no += 1
            running = [(case, mixed.start(case, port, env, LOAD_SECONDS, 16)) for case in (mixed.READS, mixed.WRITES)]
            peak = sample(backend, url, port, proc.pid, began)
            while any(p.poll() is None for _, p in running):
                time.sleep(SAMPLE_EVERY)
                s = sample(backend, url, port, proc.pid, began)
                peak = max(peak, s, key=lambda x: x["pending"])
                peak["rss"] = max(peak["rss"], s["rss"])
            results = [mixed.row(backend, "", case, p) for case, p in running]
            rates = " / ".join(cells[2] for cells, _ in results)
            quiet_began = sample(backend, url, port, proc.pid, began)
            deadline = time.monotonic() + QUIET_LIMIT
            while quiet_began["pending"] and time.monotonic() < deadline:
                time.sleep(1)
                quiet_began = sample(backend, url, port, proc.pid, began)
            time.sleep(SAMPLE_EVERY)
            end = sample(backend, url, port, proc.pid, began)
            quiet_waits = end["waits"] - quiet_began["waits"]
            quiet_ends.append(end)
            rows.append((backend, str(round_no), f"{end['t'] / 60:.1f}", rates, f"{peak['pending']:,}",
                         f"{peak['rss']:.0f}", f"{end['rss']:.0f}", f"{end['pending']:,}",
                         str(quiet_waits)))
            if end["pending"]:
                failures.append(f"{backend}, round {round_no}: {end['pending']} deliveries still pending "
                                f"{QUIET_LIMIT} s after the load")
            if quiet_waits > 0:
                failures.append(f"{backend}, round {round_no}: {quiet_waits} checkouts waited for a "
                                "connection with no load")
        first, last = quiet_ends[0]["rss"], quiet_ends[-1]["rss"]
        if len(quiet_ends) > 1 and last > first * 1.25 + 16:
            failures.append(f"{backend}: RSS after the load grew from {first:.0f} MB to {last:.0f} MB "
                            f"over {len(quiet_ends)} rounds")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        receiver.stop()
        common.drop_backend(backend, url)
        shutil.rmtree(work, ignore_errors=True)


def main(n, minutes, backends):
    minutes = max(1, min(minutes, 60))
    rows, failures = [], []
    for backend in backends:
        soak_backend(backend, n, minutes, rows, failures)
    common.print_table(f"soak: {n} licenses, {minutes} min per backend, rounds of {LOAD_SECONDS} s of check.json "
                       f"and register+remove (16 connections each) then quiet, {os.cpu_count()} cores, "
                       f"binary {common.BIN}",
                       ("backend", "round", "min", "check.json / cycles", "backlog peak", "RSS peak MB",
                        "RSS quiet MB", "backlog quiet", "waits, quiet"), rows)
    for failure in failures:
        print("FAIL:", failure)
    if failures:
        raise SystemExit(1)
    print("soak: every round's growth came back")
