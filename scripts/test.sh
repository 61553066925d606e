#!/bin/bash
# test.sh: the one test command. Sets up a fresh Debian machine (as root:
# apt packages, the cached test root filesystem) and runs every test:
# unit, golden, CLI integration and end-to-end with real Puppet.
set -euo pipefail
HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
TOP=$(dirname -- "$HERE")
cd "$TOP"
"$HERE/setup-host.sh"
cargo test --workspace --locked -- --test-threads="${TEST_THREADS:-4}"
