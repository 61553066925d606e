#!/bin/bash
# extract.sh: cft extract against dpkg --verify on the same root, in the
# same run. Prints medians of RUNS runs and the ratio; asserts nothing.
#
#   bench/extract.sh            as root: a fresh base root, configured by hand
#   CFT_BENCH_ROOT=DIR bench/extract.sh   an existing root instead
#   RUNS=N (default 7)
#
# Both read the whole package database; dpkg --verify hashes every packaged
# file of the system, cft extract hashes the packaged files under the
# watched roots and every candidate file there.
set -euo pipefail
HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
TOP=$(dirname -- "$HERE")
RUNS=${RUNS:-7}
cd "$TOP"
cargo build --release --locked -q
CFT=$TOP/target/release/cft
if [ -n "${CFT_BENCH_ROOT:-}" ]; then
    R=$CFT_BENCH_ROOT
else
    R=$("$TOP/testbed/make-rootfs.sh" new 2>/dev/null)
    trap '"$TOP/testbed/make-rootfs.sh" remove "$R" >/dev/null 2>&1' EXIT
    "$TOP/testbed/in-root.sh" "$R" sh -euc '
        apt-get install -y -q nginx rsync >/dev/null 2>&1
        sleep 1.5
        sed -i "s/worker_connections 768;/worker_connections 1024;/" /etc/nginx/nginx.conf
        rm /etc/nginx/koi-win
        systemctl disable nginx.service 2>/dev/null
        groupadd web; useradd -m -g web alice
        mkdir -p /srv/app /var/www/app
        for i in $(seq 200); do printf "setting %s\n" "$i" > /srv/app/conf-$i; done
        printf "<h1>app</h1>\n" > /var/www/app/index.html'
fi
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
tmp=$(mktemp -d)
cft_t=(); dpkg_t=()
for i in $(seq "$RUNS"); do
    a=$(date +%s%N); "$CFT" --db "$tmp/$i.db" extract "b$i" --root "$R" >/dev/null; b=$(date +%s%N)
    cft_t+=("$(ms "$a" "$b")")
    a=$(date +%s%N); dpkg --root="$R" --verify >/dev/null 2>&1 || true; b=$(date +%s%N)
    dpkg_t+=("$(ms "$a" "$b")")
done
rm -rf "$tmp"
c=$(printf '%s\n' "${cft_t[@]}" | median)
d=$(printf '%s\n' "${dpkg_t[@]}" | median)
echo "root: $R ($RUNS runs, medians)"
echo "cft extract:   $c ms"
echo "dpkg --verify: $d ms"
awk -v c="$c" -v d="$d" 'BEGIN { printf "ratio cft/dpkg: %.2f\n", c / d }'
