#!/usr/bin/env bash
# Starts a PgBouncer in transaction pooling mode on 127.0.0.1:16432 in front of the machine's
# PostgreSQL (127.0.0.1:5432, trust auth), for the second Postgres pass of the integration
# tests (IPLS_TEST_PGBOUNCER_URL). Its files live in target/pgbouncer (never committed); it
# runs as the postgres user (PgBouncer refuses root) and is left running, like PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=16432
if pg_isready -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
    exit 0
fi
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
    echo "ci: installing pgbouncer"
    apt-get update -qq && apt-get install -y -qq pgbouncer
fi
dir="$PWD/target/pgbouncer"
mkdir -p "$dir"
cat > "$dir/pgbouncer.ini" <<INI
[databases]
; Any database name, passed through to the local PostgreSQL. Statements outside transactions
; (ipls's reads) get these bounds from every server connection; ipls sets them itself, with
; SET LOCAL, in its write transactions.
* = host=127.0.0.1 port=5432 connect_query='SET statement_timeout = 10000; SET lock_timeout = 2000'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
; A request for a database that is gone (a test's, dropped) fails in seconds, not minutes.
query_wait_timeout = 10
server_login_retry = 1
max_client_conn = 1000
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
echo '"postgres" ""' > "$dir/userlist.txt"
chown -R postgres "$dir"
runuser -u postgres -- /usr/sbin/pgbouncer -d "$dir/pgbouncer.ini"
for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p "$PORT" -q 2>/dev/null && exit 0
    sleep 0.2
done
echo "ci: PgBouncer did not come up"; cat "$dir/pgbouncer.log"; exit 1
