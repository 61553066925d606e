#!/bin/bash
# sweep.sh: the time of finish's stat-only sweep of the baseline (issue 14,
# item 4) per 200,000 entries, against `find ROOT -printf '%s %T@ %C@ %i\n'`
# of the same tree (the same stats, no database), in the same run. Prints
# the medians of RUNS runs and the ratio; asserts nothing.
#
#   bench/sweep.sh               as root or not: a generated tree of
#                                DIRS x PER files (default 2000 x 100, so
#                                202,001 entries with the directories)
#   RUNS=N (default 5), DIRS=N, PER=N, SCRATCH=DIR (default /var/tmp; not
#   tmpfs), NO_BUILD=1 (use target/release/cft as it is)
#
# The sweep's own time is what finish logs (CFT_LOG=recorder::reconcile=info,
# "stat sweep of the baseline ... ms=N"): streaming the baseline's rows from
# SQLite plus one fstatat per entry through directory fds. The session has
# no events, so the sweep is all finish re-reads; finish's whole wall time
# (probes included) is printed beside it. Caches are warm for both sides.
set -euo pipefail
export LC_ALL=C
HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
TOP=$(dirname -- "$HERE")
RUNS=${RUNS:-5}
DIRS=${DIRS:-2000}
PER=${PER:-100}
cd "$TOP"
[ -n "${NO_BUILD:-}" ] || cargo build --release --locked -q
tmp=$(mktemp -d "${SCRATCH:-/var/tmp}/cft-sweep.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
[ "$(stat -f -c %T "$tmp")" = tmpfs ] && { echo "sweep.sh: $tmp is tmpfs" >&2; exit 2; }
cp "$TOP/target/release/cft" "$tmp/cft"
cc -O2 -o "$tmp/gen" "$HERE/cftbench.c"
ROOT=$tmp/root
mkdir -p "$ROOT/srv"
"$tmp/gen" tree "$ROOT/srv/tree" "$DIRS" "$PER" 64 1 >/dev/null
sync
ENTRIES=$(find "$ROOT/srv" | wc -l)
export CFT_IGNORE_FILE=/nonexistent
unset CFT_DB

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.4f", b-a}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{ if (NR%2) printf "%.4f", v[(NR+1)/2]; else printf "%.4f", (v[NR/2]+v[NR/2+1])/2 }'; }

SWEEP=() FIND=() FINISH=()
for i in $(seq 0 "$RUNS"); do
    db=$tmp/db$i/cft.db
    "$tmp/cft" --db "$db" begin "s$i" --root "$ROOT" --no-default-watch --watch /srv \
        --content-cap 0 >/dev/null
    t=$EPOCHREALTIME
    find "$ROOT/srv" -printf '%s %T@ %C@ %i\n' >/dev/null
    f=$(since "$t")
    t=$EPOCHREALTIME
    CFT_LOG=recorder::reconcile=info "$tmp/cft" --db "$db" finish "s$i" >"$tmp/out" 2>"$tmp/log"
    w=$(since "$t")
    ms=$(sed -n 's/.*stat sweep of the baseline.* ms=\([0-9]*\).*/\1/p' "$tmp/log" | tail -1)
    n=$(sed -n 's/.*stat sweep of the baseline.* entries=\([0-9]*\).*/\1/p' "$tmp/log" | tail -1)
    [ -n "$ms" ] || { echo "sweep.sh: finish logged no sweep:" >&2; cat "$tmp/log" >&2; exit 1; }
    rm -rf "$tmp/db$i"
    [ "$i" = 0 ] && continue # warm-up
    SWEEP+=("$(awk -v m="$ms" 'BEGIN{printf "%.4f", m/1000}')")
    FIND+=("$f")
    FINISH+=("$w")
done
s=$(median "${SWEEP[@]}")
f=$(median "${FIND[@]}")
w=$(median "${FINISH[@]}")
echo "tree:                 $ENTRIES entries under $ROOT/srv ($DIRS dirs x $PER files), swept $n"
echo "cft finish's sweep:   ${s} s  (runs: ${SWEEP[*]})"
echo "find -printf stats:   ${f} s  (runs: ${FIND[*]})"
echo "cft finish, whole:    ${w} s"
awk -v s="$s" -v f="$f" -v n="$n" 'BEGIN{
    printf "per 200k entries:     sweep %.3f s, find %.3f s; sweep / find = %.2fx\n",
        s * 200000 / n, f * 200000 / n, (f > 0 ? s / f : 0) }'
