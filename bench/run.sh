#!/usr/bin/env bash
# One command for the whole benchmark (docs/benchmarks.md):  bench/run.sh [LICENSES]
# (--instances 1,2,4: several instances on one Postgres, direct and through PgBouncer;
# docs/scaling.md)
# (--scale 10000,100000,1000000: the growth table and plot, bench/scale.py; matplotlib is
# installed into target/bench-py for the plot)
# (--mixed: reads alone, writes alone and both at once, with each lane's pool waits;
# bench/mixed.py)
# (--soak MINUTES: rounds of mixed load and quiet with a webhook endpoint, sampling RSS, pool
# waits and the webhook backlog; fails on growth that does not come back; bench/soak.py)
# (--relay: register and remove through a chain of two ipls next to the direct figures, and
# reconcile of LICENSES; bench/relay.py)
# Builds a release binary, installs wrk if missing, and runs bench/run.py against fresh
# Postgres and SQLite databases. Traffic goes to 127.0.0.1 only; every run stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
fi
if [[ " $* " == *" --soak "* ]] && ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx
fi
cargo build --release --quiet
python=python3
if [[ " $* " == *" --scale "* ]]; then
    [ -x target/bench-py/bin/python ] || python3 -m venv target/bench-py
    target/bench-py/bin/python -c 'import matplotlib' 2>/dev/null ||
        target/bench-py/bin/pip install --quiet 'matplotlib==3.10.*'
    python=target/bench-py/bin/python
fi
licenses=100000
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    licenses=$1
    shift
fi
exec "$python" bench/run.py --licenses "$licenses" "$@"
