#!/usr/bin/env bash
# bench/run.sh: measure cft against the tools it competes with, in one run on
# one machine, and print a summary table.
#
# Usage: bench/run.sh [--quick] [-n N] [--no-build] [--scratch DIR]
#
#   --quick        smoke test: 10,000-file tree, 10,000-file storm, N=1
#   -n, --runs N   timed runs per side (default 3; the median is reported)
#   --no-build     use target/release/cft as it is (default: cargo build --release)
#   --scratch DIR  where trees and databases go (default /var/tmp/cft-bench;
#                  must not be tmpfs; removed at the end)
#
# Environment: BENCH_FILES_DIRS / BENCH_FILES_PER_DIR / BENCH_FILE_SIZE (tree
# shape), BENCH_STORM (storm size), BENCH_STORM_SIZE (bytes per storm file),
# TESTBED_DIR (passed to make-rootfs.sh).
#
# What is measured (median of N timed runs after one untimed warm-up of each
# side, so both sides run with warm page caches; caches are not dropped):
#   1. cft begin on a tree of 1000 dirs x 100 files of 4 KiB (distinct
#      contents)  vs  tar -cf - TREE | cat >/dev/null        target <= 1.5x
#   2. cft begin on a Debian rootfs's /etc  vs  git add -A of a copy of it in
#      a fresh repository (etckeeper's way)                   target <= 0.5x
#   3. cft finish after 10 files of the tree changed  vs  cft begin on the
#      tree (median of 1)                                     target <= 0.1x
#   4. a storm of 100,000 file creations in a watched directory while
#      recording  vs  the same storm in an unwatched directory: wall time of
#      the storm                                               target <= 1.2x
#      and every creation must be in `cft show`. Each timed storm run is
#      A-B-B-A (unwatched, recording, recording, unwatched), per-side mean.
#   A diagnostic row (no target): cft begin --content-cap 0 (hashes only).
#
# Noise: on ext4 without a journal, creating files right after a mass delete
# is several times slower (recently freed inodes are skipped for 1-6 min), and
# this script deletes ~1M files when it cleans up; wait ~6 minutes between
# full runs. KEEP_LOGS=1 keeps $SCRATCH/logs when the run fails.
#
# Exit status: 0 when everything ran (even if a target is missed); 1 when a
# command failed; 3 when the storm capture was incomplete.
set -euo pipefail
export LC_ALL=C

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
PROJ=$(dirname -- "$HERE")

QUICK=0
RUNS=
BUILD=1
SCRATCH=/var/tmp/cft-bench
while [ $# -gt 0 ]; do
    case $1 in
        --quick) QUICK=1 ;;
        -n | --runs) RUNS=${2:?}; shift ;;
        --no-build) BUILD=0 ;;
        --scratch) SCRATCH=${2:?}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    DIRS=${BENCH_FILES_DIRS:-100}; RUNS=${RUNS:-1}; STORM=${BENCH_STORM:-10000}
else
    DIRS=${BENCH_FILES_DIRS:-1000}; RUNS=${RUNS:-3}; STORM=${BENCH_STORM:-100000}
fi
PER=${BENCH_FILES_PER_DIR:-100}
FSIZE=${BENCH_FILE_SIZE:-4096}
STORM_SIZE=${BENCH_STORM_SIZE:-128}
NFILES=$((DIRS * PER))
CHANGED=10

MAKE_ROOTFS=$PROJ/testbed/make-rootfs.sh
[ -x "$MAKE_ROOTFS" ] || MAKE_ROOTFS=/work/shared/testbed/make-rootfs.sh

say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- clean-up
ACTIVE_DB= ACTIVE_NAME= ROOTFS= CREATED_SCRATCH=0
cleanup() {
    local rc=$?
    set +e
    if [ -n "$ACTIVE_NAME" ] && [ -x "$SCRATCH/bin/cft" ]; then
        "$SCRATCH/bin/cft" --db "$ACTIVE_DB" abort "$ACTIVE_NAME" >/dev/null 2>&1
    fi
    if [ -n "$ROOTFS" ]; then
        "$MAKE_ROOTFS" remove "$ROOTFS" >/dev/null 2>&1 ||
            say "run.sh: warning: could not remove the rootfs $ROOTFS" >&2
    fi
    if [ "$CREATED_SCRATCH" = 1 ]; then
        if [ -n "${KEEP_LOGS:-}" ] && [ $rc -ne 0 ]; then
            say "run.sh: logs kept in $SCRATCH/logs" >&2
            find "$SCRATCH" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} +
        else
            rm -rf "$SCRATCH"
        fi
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Run a command with its output in a log; on failure show the log and stop.
logged() { # LOG CMD...
    local log=$1; shift
    if ! "$@" >"$log" 2>&1; then
        say "run.sh: command failed: $*" >&2
        tail -n 30 "$log" >&2
        exit 1
    fi
}

# Seconds elapsed since $1 (an $EPOCHREALTIME value).
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.4f", b-a}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{ if (NR%2) printf "%.4f", v[(NR+1)/2]; else printf "%.4f", (v[NR/2]+v[NR/2+1])/2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b>0) printf "%.3f", a/b; else print "inf" }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN{ print (r<=t) ? "PASS" : "MISS" }'; }
fmt_runs() { local s= x; for x in "$@"; do s+="$(printf '%.3f' "$x") "; done; printf '%s' "${s% }"; }

# A fresh database for each cft run, in its own directory. Nothing is deleted
# until the clean-up: on ext4 without a journal, inode allocation skips
# recently deleted inodes (ialloc.c recently_deleted(), 60-360 s), which makes
# file creation after a mass delete several times slower; with `discard`,
# deleting big files is slow too. So trees, copies and databases stay until
# the end.
fresh_db() { DBDIR=$SCRATCH/db/$1; mkdir -m 700 -p "$DBDIR"; DB=$DBDIR/cft.db; }

# ----------------------------------------------------------------- checks
[ "$(id -u)" = 0 ] || die "run as root (cft watches and reads like root does)"
for c in tar git cc awk sync; do command -v "$c" >/dev/null || die "$c is not installed"; done
case $SCRATCH in /*) ;; *) die "--scratch must be an absolute path" ;; esac
[ -e "$SCRATCH" ] && die "$SCRATCH already exists (a previous run left it? remove it first)"
mkdir -p "$SCRATCH"
CREATED_SCRATCH=1
FSTYPE=$(findmnt -no FSTYPE -T "$SCRATCH" 2>/dev/null || stat -f -c %T "$SCRATCH")
[ "$FSTYPE" = tmpfs ] && die "$SCRATCH is on tmpfs; choose a disk-backed --scratch"
mkdir -p "$SCRATCH/bin" "$SCRATCH/logs"
LOGS=$SCRATCH/logs
mkdir -m 700 "$SCRATCH/db"
DB= DBDIR=
export CFT_IGNORE_FILE=/nonexistent
unset CFT_DB CFT_LOG

# ------------------------------------------------------------------ build
if [ "$BUILD" = 1 ]; then
    say "building: cargo build --release (may wait for the shared target dir lock)"
    (cd "$PROJ" && cargo build --release --quiet) || die "cargo build --release failed"
fi
[ -x "$PROJ/target/release/cft" ] || die "no $PROJ/target/release/cft (build it, or drop --no-build)"
# A private copy: others may rebuild target/ while we measure.
cp "$PROJ/target/release/cft" "$SCRATCH/bin/cft"
CFT=$SCRATCH/bin/cft
cc -O2 -o "$SCRATCH/bin/cftbench" "$HERE/cftbench.c" || die "cannot compile bench/cftbench.c"
GEN=$SCRATCH/bin/cftbench

cft() { "$CFT" --db "$DB" "$@"; }

# ------------------------------------------------------------------ facts
REV=$(cd "$PROJ" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(cd "$PROJ" && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && echo " (+ uncommitted changes)" || true)
say ""
say "== machine"
say "nproc:        $(nproc)"
say "cpu:          $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
say "kernel:       $(uname -sr)"
say "memory:       $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
FSDEV=$(findmnt -no SOURCE -T "$SCRATCH" 2>/dev/null || df -P "$SCRATCH" | awk 'NR==2{print $1}')
FSNOTE=
if [ "$FSTYPE" = ext4 ]; then
    if compgen -G "/proc/fs/jbd2/$(basename -- "$FSDEV")-*" >/dev/null; then FSNOTE=", with a journal"
    else FSNOTE=", WITHOUT a journal"; fi
fi
say "scratch:      $SCRATCH on $FSDEV: $FSTYPE$FSNOTE ($(findmnt -no OPTIONS -T "$SCRATCH" 2>/dev/null))"
say "inotify:      max_queued_events=$(cat /proc/sys/fs/inotify/max_queued_events) max_user_watches=$(cat /proc/sys/fs/inotify/max_user_watches)"
say "cft:          $("$CFT" --version) at $REV$DIRTY, release build"
say "tools:        $(tar --version | head -1), $(git --version)"
say "method:       median of $RUNS timed run(s) per side after one untimed warm-up run of each side"
say "              (page caches are warm for both sides; they are not dropped). sync before every"
say "              timed run. Each cft run uses a fresh database and is finished or aborted"
say "              outside its timing."

# --------------------------------------------------------- 1 + 3: the tree
say ""
say "== 1/3: tree of $NFILES files ($DIRS dirs x $PER files x $FSIZE bytes, distinct contents)"
TROOT=$SCRATCH/r1
mkdir -p "$TROOT"
t=$EPOCHREALTIME
logged "$LOGS/gen-tree.log" "$GEN" tree "$TROOT/tree" "$DIRS" "$PER" "$FSIZE" 1
sync
say "generated in $(since "$t") s ($(du -sh "$TROOT/tree" | cut -f1))"

TAR_T=() BEGIN_T=() FINISH_T=() CAP0_T=() FINISH_NOTE=
for i in $(seq 0 "$RUNS"); do
    tag=$([ "$i" = 0 ] && echo warm-up || echo "run $i")
    # baseline: tar reading every file (through cat: GNU tar skips reading
    # when its archive is /dev/null)
    sync
    t=$EPOCHREALTIME
    tar -cf - -C "$TROOT" tree | cat >/dev/null
    tt=$(since "$t")
    # cft begin on a fresh database
    name=tree$i
    fresh_db "$name"
    sync
    t=$EPOCHREALTIME
    ACTIVE_DB=$DB ACTIVE_NAME=$name
    logged "$LOGS/begin-$name.log" cft begin "$name" --root "$TROOT" --no-default-watch --watch /tree
    bt=$(since "$t")
    grep -q "baseline: $((NFILES + DIRS + 1)) entries" "$LOGS/begin-$name.log" ||
        die "begin did not report $((NFILES + DIRS + 1)) baseline entries: $(cat "$LOGS/begin-$name.log")"
    # change 10 files spread over the tree, let the daemon see them, finish
    for k in $(seq 0 $((CHANGED - 1))); do
        d=$(( k * DIRS / CHANGED )); f=$(( (k * 7) % PER ))
        "$GEN" modify "$(printf '%s/tree/d%04d/f%03d' "$TROOT" "$d" "$f")" "$((i * 100 + k))"
    done
    sleep 1
    sync
    t=$EPOCHREALTIME
    logged "$LOGS/finish-$name.log" cft finish "$name"
    ft=$(since "$t")
    ACTIVE_NAME=
    logged "$LOGS/show-$name.log" cft show "$name"
    nmod=$(grep -c '^modified ' "$LOGS/show-$name.log" || true)
    nall=$(awk 'NR>3 && /^[a-z_]+ +\//' "$LOGS/show-$name.log" | wc -l)
    [ "$nmod" = "$CHANGED" ] && [ "$nall" = "$CHANGED" ] ||
        die "finish found $nmod modified / $nall changes, expected $CHANGED: see $LOGS/show-$name.log"
    FINISH_NOTE=$(grep -E 'reconciled' "$LOGS/finish-$name.log" | sed 's/^ *//')
    # diagnostic, no target: the same begin keeping hashes only (no contents)
    name=tree${i}cap0
    fresh_db "$name"
    sync
    t=$EPOCHREALTIME
    ACTIVE_DB=$DB ACTIVE_NAME=$name
    logged "$LOGS/begin-$name.log" cft begin "$name" --root "$TROOT" --no-default-watch --watch /tree --content-cap 0
    ct=$(since "$t")
    logged "$LOGS/abort-$name.log" cft abort "$name"
    ACTIVE_NAME=
    say "  $tag: tar $(printf %.3f "$tt") s | cft begin $(printf %.3f "$bt") s | cft finish ($CHANGED changed) $(printf %.3f "$ft") s | diagnostic: cft begin --content-cap 0 $(printf %.3f "$ct") s"
    if [ "$i" != 0 ]; then TAR_T+=("$tt"); BEGIN_T+=("$bt"); FINISH_T+=("$ft"); CAP0_T+=("$ct"); fi
done
say "  finish says: $FINISH_NOTE"
DB_SIZE=$(du -sh "$SCRATCH/db/tree$RUNS" | cut -f1)
say "  database after the last run: $DB_SIZE (baseline with contents)"

# ------------------------------------------------------------ 2: /etc
say ""
say "== 2: a Debian root filesystem's /etc"
logged "$LOGS/rootfs.log" "$MAKE_ROOTFS" new --puppet
ROOTFS=$(tail -n 1 "$LOGS/rootfs.log")
[ -d "$ROOTFS/etc" ] || die "make-rootfs.sh did not print a rootfs path: $(cat "$LOGS/rootfs.log")"
[ "$(findmnt -no SOURCE -T "$ROOTFS")" = "$FSDEV" ] || say "  note: the rootfs is on another filesystem than the scratch dir"
ETC_N=$(find "$ROOTFS/etc" | wc -l)
ETC_F=$(find "$ROOTFS/etc" -type f | wc -l)
say "rootfs $ROOTFS: /etc holds $ETC_N entries ($ETC_F files, $(du -sh "$ROOTFS/etc" | cut -f1))"
GITW=$SCRATCH/git
# git as etckeeper runs it, without the host's or user's git configuration
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
GIT_T=() EBEGIN_T=()
for i in $(seq 0 "$RUNS"); do
    tag=$([ "$i" = 0 ] && echo warm-up || echo "run $i")
    mkdir -p "$GITW/$i"
    cp -a "$ROOTFS/etc" "$GITW/$i/etc"
    git -C "$GITW/$i/etc" init -q
    sync
    t=$EPOCHREALTIME
    logged "$LOGS/git-add-$i.log" git -C "$GITW/$i/etc" add -A
    gt=$(since "$t")
    name=etc$i
    fresh_db "$name"
    sync
    t=$EPOCHREALTIME
    ACTIVE_DB=$DB ACTIVE_NAME=$name
    logged "$LOGS/begin-$name.log" cft begin "$name" --root "$ROOTFS" --no-default-watch --watch /etc
    bt=$(since "$t")
    logged "$LOGS/abort-$name.log" cft abort "$name"
    ACTIVE_NAME=
    say "  $tag: git add -A $(printf %.3f "$gt") s | cft begin $(printf %.3f "$bt") s ($(grep -o 'baseline: [0-9]* entries' "$LOGS/begin-$name.log"))"
    if [ "$i" != 0 ]; then GIT_T+=("$gt"); EBEGIN_T+=("$bt"); fi
done

# ------------------------------------------------------------ 4: storm
say ""
say "== 4: storm of $STORM file creations ($STORM_SIZE bytes each, one flat directory)"
say "storm generator: compiled C helper (bench/cftbench.c: open O_CREAT|O_EXCL, write, close per file)"
say "order: each timed run is A-B-B-A (unwatched, recording, recording, unwatched) and"
say "       averages the two storms of each side: file creation speed on this machine drifts"
say "       with kernel state (inode slab growth, recently freed inodes), and ABBA cancels a"
say "       linear drift. The warm-up run is one storm of each side."
STORM_OFF=() STORM_ON=() STORM_FIN=() CAPTURED=() STORM_RATIOS=()
INCOMPLETE=0
storm_off() { # TAG -> st0
    local dir=$SCRATCH/s0-$1 t
    mkdir -p "$dir/storm"       # a fresh directory nobody watches
    sync
    t=$EPOCHREALTIME
    "$GEN" storm "$dir/storm" "$STORM" "$STORM_SIZE" || die "storm failed"
    st0=$(since "$t")
}
storm_on() { # TAG -> st1 sf cap note
    local dir=$SCRATCH/s1-$1 name=storm$1 t
    mkdir -p "$dir/storm"       # exists, and is watched, before begin
    fresh_db "$name"
    ACTIVE_DB=$DB ACTIVE_NAME=$name
    logged "$LOGS/begin-$name.log" cft begin "$name" --root "$dir" --no-default-watch --watch /storm
    sync
    t=$EPOCHREALTIME
    "$GEN" storm "$dir/storm" "$STORM" "$STORM_SIZE" || die "storm failed"
    st1=$(since "$t")
    t=$EPOCHREALTIME
    logged "$LOGS/finish-$name.log" cft finish "$name"
    sf=$(since "$t")
    ACTIVE_NAME=
    logged "$LOGS/show-$name.log" cft show "$name"
    cap=$(grep -c '^created ' "$LOGS/show-$name.log" || true)
    note=$(grep -E 'reconciled' "$LOGS/finish-$name.log" | sed 's/^ *//')
    [ "$cap" = "$STORM" ] || INCOMPLETE=1
    CAPTURED+=("$cap")
}
f3() { printf %.3f "$1"; }
storm_off w; storm_on w
say "  warm-up: unwatched $(f3 "$st0") s | recording $(f3 "$st1") s | captured $cap/$STORM | cft finish $(f3 "$sf") s ($note)"
CAPTURED=()
for i in $(seq 1 "$RUNS"); do
    storm_off "${i}a"; a0=$st0
    storm_on "${i}a"; a1=$st1 c1=$cap f1=$sf
    storm_on "${i}b"; b1=$st1 c2=$cap f2=$sf
    storm_off "${i}b"; b0=$st0
    off=$(awk -v a="$a0" -v b="$b0" 'BEGIN{printf "%.4f", (a+b)/2}')
    on=$(awk -v a="$a1" -v b="$b1" 'BEGIN{printf "%.4f", (a+b)/2}')
    say "  run $i: unwatched $(f3 "$a0") s, recording $(f3 "$a1") s (captured $c1, finish $(f3 "$f1") s), recording $(f3 "$b1") s (captured $c2, finish $(f3 "$f2") s), unwatched $(f3 "$b0") s -> $(f3 "$on") vs $(f3 "$off") = $(ratio "$on" "$off")x"
    STORM_OFF+=("$off"); STORM_ON+=("$on"); STORM_FIN+=("$f1" "$f2"); STORM_RATIOS+=("$(ratio "$on" "$off")")
done
say "  finish says: $note"

# ---------------------------------------------------------------- summary
B1=$(median "${BEGIN_T[@]}");  T1=$(median "${TAR_T[@]}")
B2=$(median "${EBEGIN_T[@]}"); G2=$(median "${GIT_T[@]}")
F3=$(median "${FINISH_T[@]}")
S4on=$(median "${STORM_ON[@]}"); S4off=$(median "${STORM_OFF[@]}")
R1=$(ratio "$B1" "$T1"); R2=$(ratio "$B2" "$G2"); R3=$(ratio "$F3" "$B1"); R4=$(ratio "$S4on" "$S4off")
CAPMIN=$(printf '%s\n' "${CAPTURED[@]}" | sort -n | head -1)

say ""
say "== runs (seconds, timed runs only)"
say "1 tar:            $(fmt_runs "${TAR_T[@]}")"
say "1 cft begin:      $(fmt_runs "${BEGIN_T[@]}")"
say "1 begin, cap 0:   $(fmt_runs "${CAP0_T[@]}") (diagnostic: --content-cap 0, hashes only)"
say "2 git add -A:     $(fmt_runs "${GIT_T[@]}")"
say "2 cft begin:      $(fmt_runs "${EBEGIN_T[@]}")"
say "3 cft finish:     $(fmt_runs "${FINISH_T[@]}")"
say "4 storm off:      $(fmt_runs "${STORM_OFF[@]}") (each the mean of an A-B-B-A pair)"
say "4 storm on:       $(fmt_runs "${STORM_ON[@]}") (each the mean of an A-B-B-A pair)"
say "4 finish (storm): $(fmt_runs "${STORM_FIN[@]}")"
say "4 ratio per run:  ${STORM_RATIOS[*]} (median $(median "${STORM_RATIOS[@]}"))"
say ""
say "== summary (median of $RUNS; warm caches on both sides)"
row() { printf '%-44s %10s %10s %8s %8s  %s\n' "$@"; }
row "metric" "cft (s)" "base (s)" "ratio" "target" "result"
row "1 begin ${NFILES} files vs tar|cat" "$B1" "$T1" "$R1" "<=1.5" "$(verdict "$R1" 1.5)"
C1=$(median "${CAP0_T[@]}"); RC=$(ratio "$C1" "$T1")
row "  (diag.) begin --content-cap 0 vs tar|cat" "$C1" "$T1" "$RC" "-" "(no target)"
row "2 begin /etc ($ETC_N entries) vs git add -A" "$B2" "$G2" "$R2" "<=0.5" "$(verdict "$R2" 0.5)"
row "3 finish ($CHANGED changed) vs begin ${NFILES}" "$F3" "$B1" "$R3" "<=0.1" "$(verdict "$R3" 0.1)"
row "4 storm ${STORM} creations watched vs not" "$S4on" "$S4off" "$R4" "<=1.2" "$(verdict "$R4" 1.2)"
row "4 storm captured (min over runs)" "$CAPMIN" "$STORM" "-" "all" "$([ "$INCOMPLETE" = 0 ] && echo PASS || echo FAIL)"
if [ "$INCOMPLETE" = 1 ]; then
    say "run.sh: the storm capture was incomplete (see the runs above)" >&2
    exit 3
fi
exit 0
