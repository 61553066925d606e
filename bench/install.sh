#!/bin/bash
# What the README's install step costs: `cargo install --locked --path .`
# (and `--path shim`) from a cold build, each in its own empty target
# directory, into a temporary root; then the installed binaries' sizes, as
# installed (the release profile keeps line tables, `debug = 1`) and
# stripped. The crates must already be downloaded (`cargo fetch`), so the
# time is the build's, not the network's.
# Usage: bench/install.sh   (JOBS=N to set cargo's -j)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo fetch --locked -q
jobs=${JOBS:-$(nproc)}
install() { # $1: the package path; prints seconds
    local t0 t1
    t0=$(date +%s%N)
    CARGO_TARGET_DIR=$tmp/target \
        cargo install -q --locked --offline -j "$jobs" --path "$1" --root "$tmp/root" >&2
    t1=$(date +%s%N)
    rm -rf "$tmp/target" # the next build is cold too (and the disk is spared)
    awk -v ns=$((t1 - t0)) 'BEGIN { printf "%.1f", ns / 1e9 }'
}
size() { # $1: a binary; prints "X MiB as installed, Y MiB stripped"
    strip -o "$tmp/stripped" "$1"
    awk -v a="$(stat -c %s "$1")" -v b="$(stat -c %s "$tmp/stripped")" \
        'BEGIN { printf "%.1f MiB as installed, %.1f MiB stripped", a / 1048576, b / 1048576 }'
}
cft_s=$(install .)
shim_s=$(install shim)
echo "$(rustc --version), $jobs jobs on $(nproc) cores, cold builds:"
echo "  cargo install --locked --path .     ${cft_s} s; bin/cft:      $(size "$tmp/root/bin/cft")"
echo "  cargo install --locked --path shim  ${shim_s} s; bin/cft-shim: $(size "$tmp/root/bin/cft-shim")"
