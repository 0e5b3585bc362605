#!/usr/bin/env python3
"""Batch figures (docs/benchmarks.md, "Batches"): 1,000 registrations sent as 1,000 REST calls
one after another, as one batch (each operation on its own), as one atomic batch, and that atomic
batch as a dry run, on Postgres and SQLite, against the release binary.

    cargo build --release && python3 bench/batches.py [--operations 1000] [--repeats 3]

Per backend and repeat: a fresh database (reseller `bench` holding 10,000 licenses), one
`ipls serve`, then each way in turn on its own fresh addresses; the median wall time of the
repeats is printed, and the licenses each way left are counted (every way but the dry run must
leave exactly `--operations`). Traffic goes to 127.0.0.1 only; every run stops by itself.
"""
import argparse, json, os, statistics, tempfile, time, urllib.request

import run as bench


def post(port, path, token, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as answer:
        return json.loads(answer.read())


def get(port, target):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{target}", timeout=30) as answer:
        return json.loads(answer.read())


def ops(base, n):
    return [{"op": "register", "reseller": "bench", "ip": f"172.{16 + base}.{i // 250}.{1 + i % 250}", "type": 16}
            for i in range(n)]


def one_round(backend, n):
    work = tempfile.mkdtemp(prefix="ipls-batches-")
    env, url, _, token = bench.fresh_backend(backend, 10_000, work)
    admin = bench.run([bench.BIN, "admin-token", "create", "bench"], env=env)
    admin = next(l.split(": ", 1)[1] for l in admin.splitlines() if l.startswith("token: "))
    port = bench.free_port()
    proc, _ = bench.start_server(env, port)
    times = {}
    try:
        began = time.monotonic()
        for op in ops(0, n):
            answer = get(port, f"/api/ipl/register.json?ip={op['ip']}&type=16&token={token}")
            assert answer["success"], answer
        times["1,000 REST calls, one after another"] = time.monotonic() - began
        for name, base, body, path in [
            ("one batch, each on its own", 1, {"operations": ops(1, n)}, "/api/admin/v1/batches"),
            ("one atomic batch", 2, {"atomic": True, "operations": ops(2, n)}, "/api/admin/v1/batches"),
            ("the atomic batch as a dry run", 3, {"atomic": True, "operations": ops(3, n)},
             "/api/admin/v1/batches?dry_run=true"),
        ]:
            began = time.monotonic()
            answer = post(port, path, admin, body)
            times[name] = time.monotonic() - began
            assert answer["applied"] == n, (name, answer["applied"])
        held = bench.run([bench.BIN, "license", "list", "--reseller", "bench", "--format", "json"], env=env)
        kept = sum(1 for row in json.loads(held) if row["type"] == 16)
        assert kept == 3 * n, f"{kept} licenses of type 16 left, expected {3 * n} (the dry run keeps none)"
    finally:
        proc.terminate()
        proc.wait()
        bench.drop_backend(backend, url)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--operations", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for backend in ("postgres", "sqlite"):
        rounds = [one_round(backend, args.operations) for _ in range(args.repeats)]
        print(f"\n{backend}: median of {args.repeats}, {args.operations} registrations")
        print("| way | seconds | registrations/s |\n|---|---|---|")
        for name in rounds[0]:
            median = statistics.median(r[name] for r in rounds)
            print(f"| {name} | {median:.2f} | {args.operations / median:,.0f} |")


if __name__ == "__main__":
    main()
