#!/usr/bin/env bash
# Builds target/debian/ipls_VERSION-1_ARCH.deb with cargo-deb (metadata in Cargo.toml): the
# release binary, the systemd unit, /etc/ipls/ipls.env, and the man pages and shell
# completions the binary generates from its own CLI definitions.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --quiet
cargo build --release --locked --quiet
rm -rf target/package && mkdir -p target/package/completions target/package/man
bin=target/release/ipls
"$bin" completions bash > target/package/completions/ipls.bash
"$bin" completions zsh > target/package/completions/_ipls
"$bin" completions fish > target/package/completions/ipls.fish
"$bin" man target/package/man
gzip -9n target/package/man/*.1
cargo deb --no-build --quiet "$@"
ls target/debian/*.deb
