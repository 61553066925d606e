#!/bin/bash
# rss.sh: peak memory (RSS) of cft on a big tree against the target of
# 64 MB whatever the content size (issue 14, item 9). Prints the figures;
# asserts nothing.
#
#   bench/rss.sh          a tree of FILES small files (default 100,000 of
#                         1 KiB in 1,000 directories) and BIG files of
#                         BIGMB MiB (default 5 x 100 MiB, random bytes)
#                         in /srv; during the session NEW more files of
#                         BIGMB MiB are made and the small ones' tenth
#                         rewritten.
#   FILES=N BIG=N NEW=N BIGMB=N SCRATCH=DIR (default /var/tmp; not tmpfs)
#   CAP=BYTES             begin's --content-cap (default 268435456, so the
#                         big files are read and stored whole; CAP=4194304
#                         is cft's default, which keeps only their hash)
#   NO_BUILD=1            use target/release/cft as it is
#
# Then the storm: STORM (default 100,000) files of 1 KiB created in a
# watched empty directory while recording; the time and peak of finish
# against the time of a begin of the tree the storm left, in the same run,
# STORMS times (default 3); the median ratio is the figure.
#
# Measured: the peak RSS (VmHWM) of begin's daemon, which walks and stores
# the baseline, read from /proc once begin returned; the peaks of the
# begin, finish and manifest processes (/usr/bin/time -f %M). finish
# captures changed files up to 256 MiB whatever CAP is.
set -euo pipefail
export LC_ALL=C
HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
TOP=$(dirname -- "$HERE")
FILES=${FILES:-100000}
BIG=${BIG:-5}
NEW=${NEW:-5}
BIGMB=${BIGMB:-100}
CAP=${CAP:-268435456}
cd "$TOP"
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q
[ -x /usr/bin/time ] || { echo "rss.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
tmp=$(mktemp -d "${SCRATCH:-/var/tmp}/cft-rss.XXXXXX")
cleanup() {
    [ -n "${DB:-}" ] && "$tmp/cft" --db "$DB" abort rss >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
[ "$(stat -f -c %T "$tmp")" = tmpfs ] && { echo "rss.sh: $tmp is tmpfs" >&2; exit 2; }
cp "$TOP/target/release/cft" "$tmp/cft"
ROOT=$tmp/root
mkdir -p "$ROOT/srv/small" "$ROOT/srv/big"
python3 - "$ROOT/srv/small" "$FILES" <<'EOF'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(top, f"d{i // 100:04}")
    if i % 100 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i % 100:02}"), "wb") as f:
        f.write((f"{i} " * 200)[:1024].encode())
EOF
for i in $(seq 1 "$BIG"); do
    head -c "$((BIGMB << 20))" /dev/urandom >"$ROOT/srv/big/old$i"
done
sync
DB=$tmp/db/cft.db
kib() { awk -v k="$1" 'BEGIN{printf "%.1f MB", k / 1024}'; }

/usr/bin/time -f %M -o "$tmp/begin.rss" \
    "$tmp/cft" --db "$DB" begin rss --root "$ROOT" --no-default-watch --watch /srv \
    --content-cap "$CAP" >/dev/null
PID=$("$tmp/cft" --db "$DB" status --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["recording"][0]["daemon_pid"])')
DAEMON=$(awk '/^VmHWM:/{print $2}' "/proc/$PID/status")

for i in $(seq 1 "$NEW"); do
    head -c "$((BIGMB << 20))" /dev/urandom >"$ROOT/srv/big/new$i"
done
find "$ROOT/srv/small" -name 'f?0' -exec sh -c 'for f; do echo changed >>"$f"; done' sh {} +
sleep 1
/usr/bin/time -f %M -o "$tmp/finish.rss" "$tmp/cft" --db "$DB" finish rss >"$tmp/finish.out"
CHANGES=$(sed -n "s/^finished session 'rss': \([0-9]*\) changes.*/\1/p" "$tmp/finish.out")
/usr/bin/time -f %M -o "$tmp/manifest.rss" \
    "$tmp/cft" --db "$DB" manifest rss -o "$tmp/rss" >/dev/null
DB=

# The storm: STORM files of 1 KiB created in a watched, empty directory
# while recording; finish's time and peak against begin's time on the tree
# the storm left (the same tree, walked and stored from scratch). STORMS
# times (default 3), each on a tree of its own: one run's ratio moves by a
# third with what else the machine does, the median much less.
STORM=${STORM:-100000}
STORMS=${STORMS:-3}
storm_lines=()
ratios=()
for k in $(seq 1 "$STORMS"); do
    SR=$tmp/storm-root$k
    mkdir -p "$SR/srv/storm"
    SDB=$tmp/sdb$k/cft.db
    "$tmp/cft" --db "$SDB" begin storm --root "$SR" --no-default-watch --watch /srv >/dev/null
    python3 - "$SR/srv/storm" "$STORM" <<'EOF2'
import os, sys
top, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(top, f"d{i // 1000:03}")
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i % 1000:03}"), "wb") as f:
        f.write((f"{i} " * 300)[:1024].encode())
EOF2
    sync
    sleep 1
    a=$(date +%s%N)
    /usr/bin/time -f %M -o "$tmp/storm-finish$k.rss" "$tmp/cft" --db "$SDB" finish storm >"$tmp/storm.out"
    b=$(date +%s%N)
    SCHANGES=$(sed -n "s/^finished session 'storm': \([0-9]*\) changes.*/\1/p" "$tmp/storm.out")
    c=$(date +%s%N)
    "$tmp/cft" --db "$tmp/sdb2-$k/cft.db" begin again --root "$SR" --no-default-watch --watch /srv >/dev/null
    d=$(date +%s%N)
    "$tmp/cft" --db "$tmp/sdb2-$k/cft.db" abort again >/dev/null
    storm_lines+=("$(awk -v k="$k" -v f="$a" -v g="$b" -v h="$c" -v i="$d" -v m="$(tail -1 "$tmp/storm-finish$k.rss")" 'BEGIN {
        printf "  storm %d:         finish %.0f ms, begin of the tree %.0f ms, ratio %.2f, finish peak %.1f MB\n",
            k, (g - f) / 1e6, (i - h) / 1e6, (g - f) / (i - h), m / 1024 }')")
    ratios+=("$(awk -v f="$a" -v g="$b" -v h="$c" -v i="$d" 'BEGIN { printf "%.4f", (g - f) / (i - h) }')")
done
PEAK=$(cat "$tmp"/storm-finish*.rss | sort -n | tail -1)
MEDIAN=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')

echo "tree:              $FILES files of 1 KiB + $BIG x $BIGMB MiB; then $NEW x $BIGMB MiB new, $((FILES / 10)) rewritten ($CHANGES changes); --content-cap $CAP"
echo "begin's daemon:    $(kib "$DAEMON") peak RSS (the baseline walk and store)"
echo "begin (the CLI):   $(kib "$(tail -1 "$tmp/begin.rss")")"
echo "finish:            $(kib "$(tail -1 "$tmp/finish.rss")")"
echo "manifest:          $(kib "$(tail -1 "$tmp/manifest.rss")")"
echo "target:            64 MB each, whatever the content size"
echo "storm:             $STORM files of 1 KiB created while recording ($SCHANGES changes), $STORMS times"
printf '%s\n' "${storm_lines[@]}"
awk -v r="$MEDIAN" 'BEGIN { printf "ratio finish / begin: %.2f, the median (target 0.5 at most)\n", r }'
echo "finish's peak:     $(kib "$PEAK") (the largest)"
