#!/bin/sh
# What cft-shim adds to a command: direct vs wrapped `true`, median of
# RUNS runs (default 300), without and with a recording session.
# Usage: shim/bench.sh   (from anywhere; RUNS=1000 shim/bench.sh)
set -eu
cd "$(dirname "$0")/.."
exec cargo bench -p shim --bench overhead
