#!/bin/bash
# diff.sh: `cft diff` of two sessions with N changed files each (default
# 10,000) against `diff -r` of the two final trees, in the same run.
# Prints medians of RUNS runs, the ratio, and the peak memory (RSS) of
# each; asserts nothing. Any user; no root needed.
#
#   bench/diff.sh            N=10000 RUNS=5
#   N=2000 bench/diff.sh     a smaller pair, to see how memory grows
#
# Half the files differ by one line between the sessions, so cft reads
# and diffs 5,000 pairs of contents and `diff -r` compares every file.
set -euo pipefail
HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
TOP=$(dirname -- "$HERE")
N=${N:-10000}
RUNS=${RUNS:-5}
cd "$TOP"
cargo build --release --locked -q
CFT=$TOP/target/release/cft
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CFT_DB=$tmp/cft.db CFT_IGNORE_FILE=$tmp/no-rules
# One session per tree: the tree starts with /etc and an empty /srv, and
# the session writes N files of about 1 KiB under /srv/data.
record() { # NAME ROOT VARIANT
    mkdir -p "$2/etc" "$2/srv"
    echo 'root:x:0:0:root:/root:/bin/sh' > "$2/etc/passwd"
    echo 'root:x:0:' > "$2/etc/group"
    "$CFT" begin "$1" --root "$2" --no-default-watch --watch /srv >/dev/null
    python3 - "$2/srv/data" "$N" "$3" <<'EOF'
import os, sys
top, n, variant = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(n):
    d = os.path.join(top, "d%03d" % (i // 100))
    os.makedirs(d, exist_ok=True)
    lines = ["setting_%d_%d = value %d\n" % (i, j, j) for j in range(32)]
    if variant == "b" and i % 2 == 0:
        lines[16] = "setting_%d_16 = changed\n" % i
    with open(os.path.join(d, "f%05d.conf" % i), "w") as f:
        f.writelines(lines)
EOF
    "$CFT" finish "$1" >/dev/null
}
record a "$tmp/ra" a
record b "$tmp/rb" b
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
cft_t=(); diff_t=()
for _ in $(seq "$RUNS"); do
    a=$(date +%s%N); "$CFT" diff a b --color never >/dev/null || [ $? = 1 ]; b=$(date +%s%N)
    cft_t+=("$(ms "$a" "$b")")
    a=$(date +%s%N); diff -r "$tmp/ra/srv" "$tmp/rb/srv" >/dev/null || [ $? = 1 ]; b=$(date +%s%N)
    diff_t+=("$(ms "$a" "$b")")
done
rss() { # peak RSS in KiB of a command that exits 0 or 1
    /usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null 2>&1 || true
    tail -n1 "$tmp/rss"
}
# A third session edits every file of tree b: `cft diff c` reads N
# baseline contents from the packs and N final ones.
"$CFT" begin c --root "$tmp/rb" --no-default-watch --watch /srv >/dev/null
find "$tmp/rb/srv/data" -name '*.conf' -exec sed -i 's/value 3$/value three/' {} +
"$CFT" finish c >/dev/null
base_t=()
for _ in $(seq "$RUNS"); do
    a=$(date +%s%N); "$CFT" diff c --color never >/dev/null || [ $? = 1 ]; b=$(date +%s%N)
    base_t+=("$(ms "$a" "$b")")
done
entries=$("$CFT" diff a b --name-status | wc -l) || true
c=$(printf '%s\n' "${cft_t[@]}" | median)
d=$(printf '%s\n' "${diff_t[@]}" | median)
echo "two sessions of $N created files each, $entries resources differ ($RUNS runs, medians)"
echo "cft diff a b:   $c ms, peak RSS $(rss "$CFT" diff a b --color never) KiB"
echo "diff -r:        $d ms, peak RSS $(rss diff -r "$tmp/ra/srv" "$tmp/rb/srv") KiB"
echo "cft diff --stat: peak RSS $(rss "$CFT" diff a b --stat) KiB"
awk -v c="$c" -v d="$d" 'BEGIN { printf "ratio cft/diff -r: %.2f\n", c / d }'
echo "cft diff c (against its baseline, $N modified): $(printf '%s\n' "${base_t[@]}" | median) ms, peak RSS $(rss "$CFT" diff c --color never) KiB"
