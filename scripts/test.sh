#!/bin/bash
# test.sh: the one test command. Sets up a fresh Debian machine (as root:
# apt packages, the cached test root filesystem) and runs every test:
#   tier 1 and tier 2 as root (CFT_TESTBED=1 compiles tier 2 in: real
#   Debian roots, real Puppet, the validators; unit, golden, CLI and
#   end-to-end tests), then
#   tier 1 again as an ordinary user with no root, no Puppet, no
#   debootstrap and no validators (scripts/tier1-as-user.sh), so that
#   plain `cargo test --workspace` keeps needing nothing but Rust.
# First the lints: rustfmt, clippy with warnings as errors (both tiers'
# code; clippy.toml has the project's disallowed methods), rustdoc with
# warnings as errors, and the benchmarks compiled.
# Ends with the corpus tables and one line over every test binary.
set -euo pipefail
HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
TOP=$(dirname -- "$HERE")
cd "$TOP"
"$HERE/setup-host.sh"
lint() { echo "lint: $*" >&2; "$@"; }
lint cargo fmt --all --check
lint cargo clippy --workspace --all-targets --locked -q -- -D warnings
CFT_TESTBED=1 lint cargo clippy --workspace --all-targets --locked -q -- -D warnings
RUSTDOCFLAGS=-Dwarnings lint cargo doc --workspace --no-deps --locked -q
lint cargo bench --workspace --no-run --locked -q
lint "$HERE/module-map.py" >/dev/null
log=$(mktemp)
tier1=$(mktemp)
trap 'rm -f "$log" "$tier1"' EXIT
corpus=${TESTBED_DIR:-/var/tmp/cft-testbed}/reports/corpus
server=${TESTBED_DIR:-/var/tmp/cft-testbed}/reports/server.md
rm -rf "$corpus" "$server"
threads=${TEST_THREADS:-4}
set +e
# No doc tests exist; leaving them out keeps every summary a real one.
CFT_TESTBED=1 cargo test --workspace --locked --no-fail-fast --lib --bins --tests -- --test-threads="$threads" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
"$HERE/tier1-as-user.sh" -- --test-threads="$threads" 2>&1 | tee "$tier1"
rc1=${PIPESTATUS[0]}
set -e
# The fidelity corpus: one row per workflow, every difference found.
if [ -d "$corpus" ]; then
    cat "$corpus"/*.md 2>/dev/null
fi
# The client/server test's timings.
if [ -f "$server" ]; then
    cat "$server"
fi
# Passed and failed over the `test result:` lines of the given logs.
count() {
    awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
         END { printf "%d passed, %d failed\n", p, f }' "$@"
}
echo "tiers 1 and 2, as root: $(count "$log")"
echo "tier 1 as an ordinary user, without Puppet or validators: $(count "$tier1")"
# One closing line over every test binary run.
count "$log" "$tier1"
[ "$rc" = 0 ] && [ "$rc1" = 0 ]
