#!/bin/bash
# What the recording shell's hooks add to each typed command line: N lines
# of `true` fed to an interactive bash without and with `cft hook bash`
# (a session recording a temporary root), best of 3 runs each.
# Usage: bench/hook.sh   (N=500 bench/hook.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-300}
cargo build -q --release --workspace
CFT=$PWD/target/release/cft
tmp=$(mktemp -d)
trap '"$CFT" --db "$tmp/db/cft.db" abort hb >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/root/etc"
CFT_IGNORE_FILE=/nonexistent "$CFT" --db "$tmp/db/cft.db" begin hb --root "$tmp/root" \
    --no-default-watch --watch /etc >/dev/null
lines=$(for _ in $(seq "$N"); do echo true; done)
run() { # $1: prelude typed first
    local best=999999 t0 t1 ms
    for _ in 1 2 3; do
        t0=$(date +%s%N)
        printf '%s\n%s\n' "$1" "$lines" | HOME=$tmp PS1='$ ' bash --norc -i >/dev/null 2>&1
        t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000 ))
        [ "$ms" -lt "$best" ] && best=$ms
    done
    echo "$best"
}
plain=$(run ':')
hooked=$(run "eval \"\$($CFT --db $tmp/db/cft.db hook bash hb)\"")
recorded=$(sqlite3 "$tmp/db/cft.db" 'select count(*) from intents' 2>/dev/null || echo '?')
awk -v p="$plain" -v h="$hooked" -v n="$N" -v r="$recorded" 'BEGIN {
    printf "bash, %d typed lines: plain %.3f ms/line, hooked %.3f ms/line, added %.3f ms/line (%.2fx); %s intents recorded over the 3 hooked runs\n",
        n, p / 1000 / n, h / 1000 / n, (h - p) / 1000 / n, h / p, r }'
