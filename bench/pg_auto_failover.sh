#!/bin/sh
# ipls through failovers made by pg_auto_failover (docs/scaling.md, "High availability"): a
# monitor and two Postgres nodes on this machine (Debian's postgresql-15-auto-failover), then
# the fault suite's load and checks (tests/faults/failover.rs, `failover_made_by_a_tool`)
# twice: through `pg_autoctl perform failover`, and through the loss of the primary's node
# (its pg_autoctl and postgres killed with SIGKILL), each on a fresh database.
#
#     sudo apt-get install postgresql-15-auto-failover
#     sh bench/pg_auto_failover.sh          # as root (the nodes run as postgres)
#
# Prints the fault table's rows and the benchmark; takes about four minutes.
set -eu
cd "$(dirname "$0")/.."
command -v pg_autoctl >/dev/null || { echo "pg_autoctl not found: apt-get install postgresql-15-auto-failover" >&2; exit 2; }
work=$(mktemp -d /tmp/ipls-paf-XXXXXX)
chown postgres:postgres "$work"
as_pg() {
    runuser -u postgres -- env PATH="/usr/lib/postgresql/15/bin:$PATH" XDG_CONFIG_HOME="$work/config" \
        XDG_DATA_HOME="$work/data" XDG_RUNTIME_DIR="$work/run" sh -c "$1"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
monitor_port=$(free_port); port1=$(free_port); port2=$(free_port)
cleanup() {
    # pg_autoctl's processes rename themselves: they are found through their pid files.
    for f in $(find "$work/run" -name '*.pid' 2>/dev/null); do kill -9 "$(head -n 1 "$f")" 2>/dev/null || true; done
    for d in monitor node1 node2; do
        [ -f "$work/$d/postmaster.pid" ] && kill -9 "$(head -n 1 "$work/$d/postmaster.pid")" 2>/dev/null || true
    done
    sleep 1
    rm -rf "$work"
}
trap cleanup EXIT
as_pg "mkdir -p $work/run && pg_autoctl create monitor --pgdata $work/monitor --pgport $monitor_port \
    --auth trust --no-ssl --hostname 127.0.0.1 >$work/monitor-create.log 2>&1"
as_pg "nohup pg_autoctl run --pgdata $work/monitor >$work/monitor.log 2>&1 &"
sleep 3
monitor="postgres://autoctl_node@127.0.0.1:$monitor_port/pg_auto_failover?sslmode=disable"
node() {
    as_pg "nohup pg_autoctl create postgres --pgdata $work/$1 --pgport $2 --auth trust --no-ssl \
        --hostname 127.0.0.1 --monitor '$monitor' --run >$work/$1.log 2>&1 &"
}
state() { as_pg "pg_autoctl show state --pgdata $work/monitor" 2>/dev/null; }
# Waits until the formation has a primary and a secondary again.
settled() {
    for _ in $(seq 1 240); do
        s=$(state)
        if echo "$s" | grep -q '| *primary | *primary$' && echo "$s" | grep -q '| *secondary | *secondary$'; then
            return 0
        fi
        sleep 0.5
    done
    state; echo "the formation did not settle" >&2; exit 1
}
node node1 "$port1"
sleep 10
node node2 "$port2"
settled
state
base=$(as_pg "pg_autoctl show uri --pgdata $work/monitor --formation default" | sed 's#postgres://#postgres://postgres@#')
echo "formation: $base"
primary_port() { state | awk -F'|' '$6 ~ /primary/ && $7 ~ /primary/ {print $3}' | sed 's/.*://; s/ //g'; }

run() {  # name, database, inject
    psql "$base" -qc "CREATE DATABASE $2" >/dev/null
    url=$(echo "$base" | sed "s#/postgres?#/$2?#")
    IPLS_FAILOVER_URL="$url" IPLS_FAILOVER_NAME="$1" IPLS_FAILOVER_INJECT="$3" \
        cargo test --quiet --test faults failover_made_by_a_tool -- --ignored --nocapture 2>&1 \
        | grep -E '^\| |webhooks:|calls;|test result|panicked' || true
}

# 1. A switchover the operator asks for.
run "pg_autoctl perform failover" ipls_failover_1 \
    "runuser -u postgres -- env XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/data XDG_RUNTIME_DIR=$work/run \
     PATH=/usr/lib/postgresql/15/bin:\$PATH pg_autoctl perform failover --pgdata $work/monitor >$work/failover.log 2>&1"
settled

# 2. The primary's node lost: its pg_autoctl (the supervisor and its services, found through
# their pid files: they rename themselves, so their command lines name no directory) and its
# postgres killed with SIGKILL; the monitor notices and promotes the other node.
old=$(primary_port)
dir=$( [ "$old" = "$port1" ] && echo node1 || echo node2 )
other=$( [ "$dir" = node1 ] && echo "$port2" || echo "$port1" )
run "primary node killed (pg_autoctl and postgres, SIGKILL)" ipls_failover_2 \
    "sup=\$(head -n 1 $work/run/pg_autoctl$work/$dir/pg_autoctl.pid); \
     pm=\$(head -n 1 $work/$dir/postmaster.pid); \
     kill -9 \$(pgrep -P \$sup) \$sup \$pm; \
     i=0; while ! psql 'postgres://postgres@127.0.0.1:$other/postgres?target_session_attrs=read-write' \
         -qAtc 'select 1' >/dev/null 2>&1; do i=\$((i+1)); [ \$i -lt 600 ] || exit 1; sleep 0.2; done"
# The lost node comes back when its pg_autoctl runs again: it rejoins as a secondary.
as_pg "nohup pg_autoctl run --pgdata $work/$dir >>$work/$dir.log 2>&1 &"
settled

# 3. What synchronous replication costs a write: the main benchmark's Postgres runs against the
# formation's primary (pg_auto_failover makes the secondary synchronous), to set beside the same
# run against a single server (bench/run.sh, or: python3 bench/run.py --backends postgres).
if [ "${PAF_LATENCY:-1}" = 1 ]; then
    primary=$(primary_port)
    IPLS_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$primary/postgres" \
        python3 bench/run.py --backends postgres --licenses 10000 --seconds 8
fi
