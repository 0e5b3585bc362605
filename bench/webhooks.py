#!/usr/bin/env python3
"""Webhook figures (docs/benchmarks.md): register+remove throughput with one active webhook
endpoint against none, and the delivery lag from the change to its receipt at that load, on
Postgres and SQLite, against the release binary.

    cargo build --release && python3 bench/webhooks.py [--seconds 10] [--connections 32]

Per backend, `--repeats` times each, alternating: a fresh database and one `ipls serve`, then
wrk runs the register+remove cycle of the main benchmark (bench/wrk/register_remove.lua), with
no webhook endpoint, or with one endpoint subscribed to every event (nginx, answering 200 and
logging when each webhook-id arrived). The ratio is the median rate with the endpoint over the
median without. The lag of each delivery is its receipt time minus the time the change was
queued (the delivery row's created_at, taken when the call began); p50 and p99 are over every
event of the loaded runs, including those delivered after the load stopped.

    python3 bench/webhooks.py --drain 100000

instead queues a backlog of 100,000 deliveries per endpoint through the API with no worker
running, starts `ipls serve` with its workers, and times the drain to a receiver: with one
endpoint, and with four (`--endpoints 1,4`). Traffic goes to 127.0.0.1 only; every run stops by itself.
"""
import argparse, datetime, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the main benchmark's helpers)

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log {dir}/error.log;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    log_format receipt '$msec $http_webhook_id $status $uri';
    access_log {dir}/receipts.log receipt buffer=64k flush=100ms;
    client_body_temp_path {dir};
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200; }}
    }}
}}
"""


class Receiver:
    """nginx answering 200 to every POST and logging when each webhook-id arrived: a receiver
    that costs the 2 cores next to nothing, so the figures are ipls's, not the receiver's."""

    def __init__(self, work):
        self.dir = os.path.join(work, "nginx")
        os.makedirs(self.dir)
        self.port = bench.free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-c", conf, "-p", self.dir], stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    def received(self):
        """webhook-id -> first receipt (Unix time)."""
        out = {}
        with open(os.path.join(self.dir, "receipts.log")) as f:
            for line in f:
                at, message_id, status = line.split()[:3]
                if status == "200":
                    out.setdefault(message_id, float(at))
        return out

    def deliveries(self):
        """(webhook-id, endpoint path) of every 200 answered: one per delivery, and a second
        for any delivery sent twice."""
        with open(os.path.join(self.dir, "receipts.log")) as f:
            return [(fields[1], fields[3]) for fields in map(str.split, f) if fields[2] == "200"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def deliveries(backend, url):
    """(webhook-id, queued at as Unix time, state) of every delivery."""
    sql = "SELECT message_id, created_at, state FROM webhook_deliveries"
    if backend == "postgres":
        rows = [line.split("|") for line in bench.psql(url, sql).splitlines() if line]
    else:
        db = sqlite3.connect(url[len("sqlite://"):])
        rows = db.execute(sql).fetchall()
        db.close()
    out = []
    for message_id, created, state in rows:
        at = datetime.datetime.fromisoformat(str(created)).replace(tzinfo=datetime.timezone.utc).timestamp()
        out.append((message_id, at, state))
    return out


def pending(backend, url):
    """Deliveries pending, every endpoint's together (the webhook outbox's depth)."""
    sql = "SELECT count(*) FROM webhook_deliveries WHERE state = 'pending'"
    if backend == "postgres":
        return int(bench.psql(url, sql).strip())
    db = sqlite3.connect(url[len("sqlite://"):])
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def drain_run(backend, backlog, endpoints):
    """A backlog of at least `backlog` deliveries per endpoint, queued through the API with no
    worker running (IPLS_WEBHOOK_WORKERS=0), then a fresh `ipls serve` with the default workers:
    how long until nothing is pending, how many deliveries the receiver got, and how many of
    those it had already got (at-least-once allows them; a drain without faults has none)."""
    work = tempfile.mkdtemp(prefix="ipls-webhook-drain-")
    env, url, _, token = bench.fresh_backend(backend, 0, work, {"IPLS_WEBHOOK_ALLOW_PRIVATE": "true"})
    receiver = Receiver(work)
    for n in range(endpoints):
        bench.run([bench.BIN, "webhook", "add", f"http://127.0.0.1:{receiver.port}/hook{n}"], env=env)
    proc = None
    try:
        port = bench.free_port()
        proc, _ = bench.start_server(dict(env, IPLS_WEBHOOK_WORKERS="0"), port)
        wenv = dict(env, BENCH_TOKEN=token, BENCH_N="0")
        while pending(backend, url) < backlog * endpoints:
            cycle_rate(f"http://127.0.0.1:{port}", wenv, 10, 32)
        proc.terminate()
        proc.wait(timeout=30)
        queued = pending(backend, url)
        began = time.time()
        proc, _ = bench.start_server(env, port)
        # Counting the pending rows costs Postgres a scan of the backlog, so it is counted twice a
        # second, not more: the drain time is at most 0.5 s long.
        while pending(backend, url) > 0:
            if time.time() - began > 1800:
                raise SystemExit("the backlog did not drain within 30 minutes")
            time.sleep(0.5)
        drained = time.time() - began
        time.sleep(0.3)  # nginx flushes its log every 100 ms
        received = receiver.deliveries()
        return queued, drained, len(received), len(received) - len(set(received))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        receiver.stop()
        bench.drop_backend(backend, url)
        shutil.rmtree(work, ignore_errors=True)


def drain(backends, backlog, endpoint_counts):
    """The drain table, one row per backend and number of endpoints (the default two workers
    share them), each printed as soon as it is measured."""
    header = ("backend", "endpoints", "backlog", "drained in", "events/s", "received", "received twice")
    print(f"drain: a backlog of {backlog:,} per endpoint, {os.cpu_count()} cores, binary {bench.BIN}")
    print("  ".join(header), flush=True)
    for backend in backends:
        for endpoints in endpoint_counts:
            queued, seconds, received, twice = drain_run(backend, backlog, endpoints)
            row = (backend, str(endpoints), f"{queued:,}", f"{seconds:.1f} s", f"{queued / seconds:,.0f}/s",
                   f"{received:,}", str(twice))
            print("  ".join(row), flush=True)


def cycle_rate(base, env, seconds, connections):
    rps, p50, p99, bad = bench.wrk(base + "/", os.path.join(bench.ROOT, "bench", "wrk", "register_remove.lua"),
                                   env, seconds, connections)
    assert bad == 0, f"{bad} non-2xx answers"
    return rps / 2, p50, p99


def one_run(backend, seconds, connections, with_endpoint):
    """A fresh database and server; wrk for `seconds`. Returns the cycle rate, the calls' p99
    and, with an endpoint, every delivery's lag (ms) and the drain time after the load."""
    work = tempfile.mkdtemp(prefix="ipls-webhook-bench-")
    env, url, _, token = bench.fresh_backend(backend, 0, work, {
        "IPLS_WEBHOOK_ALLOW_PRIVATE": "true",
        "IPLS_POOL_SIZE": str(connections if backend == "postgres" else 8),
    })
    receiver = Receiver(work)
    if with_endpoint:
        bench.run([bench.BIN, "webhook", "add", f"http://127.0.0.1:{receiver.port}/hook"], env=env)
    port = bench.free_port()
    proc, _ = bench.start_server(env, port)
    try:
        wenv = dict(env, BENCH_TOKEN=token, BENCH_N="0")
        began = time.time()
        rate, _, p99 = cycle_rate(f"http://127.0.0.1:{port}", wenv, seconds, connections)
        if not with_endpoint or env.get("IPLS_WEBHOOK_WORKERS") == "0":
            return rate, p99, [], 0.0, 0
        load_end = time.time()
        while any(state == "pending" for _, _, state in deliveries(backend, url)):
            if time.time() - load_end > 600:
                raise SystemExit("deliveries did not drain within 10 minutes")
            time.sleep(0.1)
        drained = time.time() - load_end
        time.sleep(0.3)  # nginx flushes its log every 100 ms
        rows = deliveries(backend, url)
        received = receiver.received()
        lags = [(received[m] - at) * 1000 for m, at, _ in rows if m in received and at >= began - 1]
        missing = sum(1 for m, _, _ in rows if m not in received)
        return rate, p99, lags, drained, missing
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        receiver.stop()
        bench.drop_backend(backend, url)
        shutil.rmtree(work, ignore_errors=True)


def bench_backend(backend, seconds, connections, repeats, results):
    none, one, lags, drains, missing, p99s = [], [], [], [], 0, []
    for _ in range(repeats):
        rate, _, _, _, _ = one_run(backend, seconds, connections, False)
        none.append(rate)
        rate, p99, run_lags, drained, run_missing = one_run(backend, seconds, connections, True)
        one.append(rate)
        p99s.append(p99)
        lags += run_lags
        drains.append(drained)
        missing += run_missing
    q = statistics.quantiles(lags, n=100) if len(lags) > 1 else [float("nan")] * 99
    results.append((backend, " ".join(f"{r:.0f}" for r in none), " ".join(f"{r:.0f}" for r in one),
                    f"{statistics.median(one) / statistics.median(none):.2f}", f"{statistics.median(p99s):.1f}",
                    str(len(lags)), f"{q[49]:.0f}", f"{q[98]:.0f}", f"{max(drains):.1f} s", str(missing)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--queue-only", action="store_true",
                        help="the endpoint is added but nothing is sent (IPLS_WEBHOOK_WORKERS=0): the outbox's cost alone")
    parser.add_argument("--drain", type=int, metavar="N",
                        help="instead: how long a backlog of N deliveries per endpoint takes to drain")
    parser.add_argument("--endpoints", default="1,4", help="with --drain: the numbers of endpoints to drain to")
    args = parser.parse_args()
    if args.queue_only:
        os.environ["IPLS_WEBHOOK_WORKERS"] = "0"
    for tool, package in (("wrk", "wrk"), ("nginx", "nginx")):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
            subprocess.run(["sh", "-c", f"apt-get update -qq && apt-get install -y -qq --no-install-recommends {package}"],
                           check=True)
    if args.drain:
        drain(args.backends.split(","), args.drain, [int(n) for n in args.endpoints.split(",")])
        return
    results = []
    for backend in args.backends.split(","):
        bench_backend(backend, args.seconds, args.connections, args.repeats, results)
    header = ("backend", "cycles/s, no endpoint", "cycles/s, one endpoint", "ratio of medians", "call p99 ms",
              "events", "lag p50 ms", "lag p99 ms", "drained after load", "not received")
    widths = [max(len(str(r[i])) for r in results + [header]) for i in range(len(header))]
    print(f"{args.connections} connections, {args.seconds} s per run, {args.repeats} runs of each, "
          f"{os.cpu_count()} cores")
    for row in [header] + results:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())


if __name__ == "__main__":
    main()
