#!/usr/bin/env bash
# Installs the Debian package and checks it as an operator would (run by .ci/run, as root):
# dpkg -i; `systemd-analyze verify` of the unit; the user, the settings file and the
# generated docs in place; the installed binary started as the package's user with the
# package's environment file in its state directory, called over HTTP, checked by
# `ipls doctor`; then the package purged. Uses port 18080 on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls target/debian/ipls_*.deb | tail -n 1)
port=18080
dpkg -i "$deb" >/dev/null
cleanup() {
    if [ -n "${pid:-}" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    dpkg --purge ipls >/dev/null 2>&1 || true
    rm -rf /var/lib/ipls
}
trap cleanup EXIT

systemd-analyze verify /lib/systemd/system/ipls.service
id ipls >/dev/null
[ "$(stat -c '%U:%G %a' /etc/ipls/ipls.env)" = "root:ipls 640" ]
test -s /usr/share/man/man1/ipls.1.gz
test -s /usr/share/man/man1/ipls-serve.1.gz
test -s /usr/share/bash-completion/completions/ipls
/usr/bin/ipls --version

# What systemd does for the unit: its state directory, its user, its environment file.
install -d -o ipls -g ipls -m 0700 /var/lib/ipls
service=(setpriv --reuid=ipls --regid=ipls --init-groups --no-new-privs env -i PATH=/usr/bin:/bin
    sh -c 'cd /var/lib/ipls && set -a && . /etc/ipls/ipls.env && exec "$@"' sh)
as_service() { "${service[@]}" "$@"; }
# Started directly, not through the function: `$!` is then the process that becomes ipls
# (setpriv, env and sh each exec the next).
"${service[@]}" /usr/bin/ipls serve --bind "127.0.0.1:$port" > /tmp/ipls-deb-serve.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/api/status.json" > /tmp/ipls-deb-status.json 2>/dev/null; then
        break
    fi
    sleep 0.1
done
grep -q '"success":true' /tmp/ipls-deb-status.json || { cat /tmp/ipls-deb-serve.log; exit 1; }
[ "$(stat -c '%U %a' /var/lib/ipls/ipls.db.key)" = "ipls 600" ]
as_service /usr/bin/ipls reseller add pkgtest --secret package-test-secret-0123 >/dev/null
token=$(as_service /usr/bin/ipls token pkgtest)
curl -fsS -G "http://127.0.0.1:$port/api/ipl/check.json" --data-urlencode "token=$token" \
    -d ip=203.0.113.10 | grep -q '"success":true'
as_service /usr/bin/ipls doctor
echo "package: installed, unit verified, served as user ipls from /var/lib/ipls, answered"
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
dpkg --purge ipls >/dev/null
! id ipls 2>/dev/null || { echo "purge left the user ipls"; exit 1; }
