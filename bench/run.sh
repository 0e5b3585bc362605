#!/usr/bin/env bash
# One command for the whole benchmark (docs/benchmarks.md):  bench/run.sh [LICENSES]
# (--instances 1,2,4: several instances on one Postgres, direct and through PgBouncer;
# docs/scaling.md)
# Builds a release binary, installs wrk if missing, and runs bench/run.py against fresh
# Postgres and SQLite databases. Traffic goes to 127.0.0.1 only; every run stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
fi
cargo build --release --quiet
exec python3 bench/run.py --licenses "${1:-100000}" "${@:2}"
