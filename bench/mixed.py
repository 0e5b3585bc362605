"""Mixed mode of the benchmark (`bench/run.sh --mixed`, docs/benchmarks.md, "Reads beside writes").

For each backend: a fresh database with N licenses and one `ipls serve` (as the main benchmark
sets them up), then, 16 connections each: check.json alone; the register+remove cycle alone;
both at once (two wrk processes); and the cycle alone at 32 connections (the write tail), and on
Postgres the cycle's SQL alone from pgbench's 32 clients (the database's own floor under that tail).
Each row gives the rate, p50 and p99, and the time calls spent waiting for a connection of each
lane (`ipls_db_pool_wait_seconds_total` on /metrics) during it, and how busy the machine's cores were
(/proc/stat: everything on the machine, wrk and Postgres included). Traffic goes to 127.0.0.1 only;
every run stops by itself.
"""
import os, shutil, tempfile, time, urllib.request

import run as common

READS = ("check.json", "random_ip.lua", "/api/ipl/check.json", 1)
WRITES = ("register+remove cycle", "register_remove.lua", "/", 2)


def lane_waits(port):
    """Seconds waited for a connection so far, per lane (an older build has no lanes: 'all')."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    waits = {}
    for line in text.splitlines():
        if line.startswith("ipls_db_pool_wait_seconds_total{pool=\""):
            lane = line.split('"')[1]
            waits[lane] = float(line.rsplit(" ", 1)[1])
    return waits


def cpu_times():
    """(busy, total) jiffies of every core so far (/proc/stat's first line)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def busy(before, after):
    """The cores' busy share between two cpu_times() readings: 100 % means no idle CPU left."""
    total = after[1] - before[1]
    return f"{100 * (after[0] - before[0]) / total:.0f} %" if total else "-"


def start(case, port, env, seconds, connections):
    name, script, path, _ = case
    wenv = dict(env, BENCH_PATH=path)
    return common.wrk_start(f"http://127.0.0.1:{port}{path}", os.path.join(common.ROOT, "bench", "wrk", script),
                            wenv, seconds, connections)


def row(backend, label, case, proc):
    rps, p50, p99, bad = common.wrk_finish(proc)
    name = f"{case[0]}, {label}" + (f" ({bad} non-2xx)" if bad else "")
    return [backend, name, f"{rps / case[3]:.0f}/s", f"{p50:.2f}", f"{p99:.2f}"], rps / case[3]


def waited(before, after):
    return ", ".join(f"{lane} {after[lane] - before.get(lane, 0):.1f} s" for lane in sorted(after)) or "-"


def bench_backend(backend, n, seconds, results):
    work = tempfile.mkdtemp(prefix="ipls-bench-mixed-")
    env, url, rid, token = common.fresh_backend(backend, n, work)
    env = dict(env, BENCH_TOKEN=token, BENCH_N=str(n))
    port = common.free_port()
    proc, _ = common.start_server(env, port)
    try:
        time.sleep(0.5)
        alone = {}
        for label, cases, connections in [("alone, 16 connections", [READS], 16),
                                          ("alone, 16 connections", [WRITES], 16),
                                          ("beside the other, 16 connections each", [READS, WRITES], 16),
                                          ("alone, 32 connections", [WRITES], 32)]:
            before, cpu_before = lane_waits(port), cpu_times()
            running = [(case, start(case, port, env, seconds, connections)) for case in cases]
            rows = [row(backend, label, case, p) for case, p in running]
            after, cpu_after = lane_waits(port), cpu_times()
            for (case, _), (cells, rate) in zip(running, rows):
                note = ""
                if len(cases) == 1 and connections == 16:
                    alone[case[0]] = rate
                elif case[0] in alone:
                    note = f"{rate / alone[case[0]]:.2f} of alone"
                results.append(tuple(cells + [note, waited(before, after), busy(cpu_before, cpu_after)]))
        if backend == "postgres":
            # The floor under the write tail: the cycle's own SQL, statement for statement, from
            # pgbench's 32 clients (one transaction here is a register and a remove: two commits).
            cpu_before = cpu_times()
            tps, p50, p99 = common.pgbench(url, "register_remove.sql", seconds, 32, {"n": n, "rid": rid})
            results.append((backend, "register+remove SQL alone (pgbench), 32 clients, per cycle", f"{tps:.0f}/s",
                            f"{p50:.2f}", f"{p99:.2f}", "", "-", busy(cpu_before, cpu_times())))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        common.drop_backend(backend, url)
        shutil.rmtree(work, ignore_errors=True)


def main(n, seconds, connections, backends):
    del connections  # the mode's own: 16 each, and 32 for the write tail
    results = []
    for backend in backends:
        bench_backend(backend, n, seconds, results)
    common.print_table(f"mixed: {n} licenses, {seconds} s per run, {os.cpu_count()} cores, "
                       f"binary {common.BIN}",
                       ("backend", "measure", "rate", "p50 ms", "p99 ms", "against alone", "waited for a connection",
                        "CPU busy"),
                       results)
