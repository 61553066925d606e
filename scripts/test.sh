#!/bin/bash
# test.sh: the one test command. Sets up a fresh Debian machine (as root:
# apt packages, the cached test root filesystem) and runs every test:
# unit, golden, CLI integration and end-to-end with real Puppet.
set -euo pipefail
HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
TOP=$(dirname -- "$HERE")
cd "$TOP"
"$HERE/setup-host.sh"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# No doc tests exist; leaving them out keeps the last closing line a real one.
corpus=${TESTBED_DIR:-/var/tmp/cft-testbed}/reports/corpus
rm -rf "$corpus"
set +e
cargo test --workspace --locked --no-fail-fast --lib --bins --tests -- --test-threads="${TEST_THREADS:-4}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# The fidelity corpus: one row per workflow, every difference found.
if [ -d "$corpus" ]; then
    cat "$corpus"/*.md 2>/dev/null
fi
# One closing line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i == "passed;") p += $(i-1); if ($i == "failed;") f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$rc"
