#!/bin/bash
# store.sh: the size of cft's store after `cft begin` against
# `tar -cf - TREES | zstd -3` of the same trees, and the time of begin
# against `tar -cf - TREES | cat`, in the same run. Prints medians of RUNS
# runs and the ratios; asserts nothing.
#
#   bench/store.sh                     as root: (a) a fresh Debian base root
#                                      (the default watched roots), (b) a
#                                      generated tree of 5,000 config files
#   CFT_BENCH_ROOT=DIR bench/store.sh  an existing root for (a) instead
#   CFT_BEFORE=BIN                     also measure another cft binary (an
#                                      older build) in the same run
#   RUNS=N (default 5), FILES=N (default 5000)
#
# Size = every file the store left: cft.db, its -wal and the packs, after
# `cft begin`, and again after `cft finish` (no change made; the probes'
# second snapshot), each checkpointed with sqlite3 so that a WAL's
# leftover pages do not count. Where the sqlite3
# CLI has DBSTAT, the database's pages are listed by table and index.
set -euo pipefail
HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
TOP=$(dirname -- "$HERE")
RUNS=${RUNS:-5}
FILES=${FILES:-5000}
cd "$TOP"
cargo build --release --locked -q
CFT=$TOP/target/release/cft
tmp=$(mktemp -d)
cleanup() {
    if [ -n "${RA:-}" ] && [ -z "${CFT_BENCH_ROOT:-}" ]; then
        "$TOP/testbed/make-rootfs.sh" remove "$RA" >/dev/null 2>&1 || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
if [ -n "${CFT_BENCH_ROOT:-}" ]; then
    RA=$CFT_BENCH_ROOT
else
    RA=$("$TOP/testbed/make-rootfs.sh" new 2>/dev/null)
fi

# (b): FILES virtual-host snippets, as a web farm's /etc holds them.
RB=$tmp/conf-root
mkdir -p "$RB/etc/nginx/sites-available" "$RB/etc/apache2/sites-available"
awk -v n="$FILES" -v dir="$RB/etc" 'BEGIN {
    for (i = 1; i <= n; i++) {
        site = sprintf("site%05d.example.org", i)
        if (i % 2) {
            f = dir "/nginx/sites-available/" site ".conf"
            printf "# Managed by hand. Site %d.\nserver {\n    listen 80;\n    listen [::]:80;\n    server_name %s www.%s;\n    root /var/www/%s/html;\n    index index.html index.htm;\n    access_log /var/log/nginx/%s.access.log;\n    error_log /var/log/nginx/%s.error.log warn;\n    client_max_body_size %dm;\n    location / {\n        try_files $uri $uri/ =404;\n    }\n    location ~ \\.php$ {\n        include snippets/fastcgi-php.conf;\n        fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        fastcgi_read_timeout %d;\n    }\n    location ~ /\\.ht {\n        deny all;\n    }\n    gzip on;\n    gzip_types text/plain text/css application/json application/javascript;\n}\n", i, site, site, site, site, site, i % 64 + 1, 30 + i % 90 > f
        } else {
            f = dir "/apache2/sites-available/" site ".conf"
            printf "# Managed by hand. Site %d.\n<VirtualHost *:80>\n    ServerName %s\n    ServerAlias www.%s\n    ServerAdmin webmaster@%s\n    DocumentRoot /var/www/%s/public\n    <Directory /var/www/%s/public>\n        Options -Indexes +FollowSymLinks\n        AllowOverride All\n        Require all granted\n    </Directory>\n    ErrorLog ${APACHE_LOG_DIR}/%s-error.log\n    CustomLog ${APACHE_LOG_DIR}/%s-access.log combined\n    LogLevel warn\n    Timeout %d\n    KeepAliveTimeout %d\n</VirtualHost>\n", i, site, site, site, site, site, site, site, 60 + i % 240, 2 + i % 13 > f
        }
        close(f)
    }
}'

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1e6 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
bytes() { { find "$@" -type f -printf '%s\n' 2>/dev/null || true; } | awk '{ s += $1 } END { print s + 0 }'; }

# One case: NAME ROOT BEGIN-ARGS... ; uses $bins.
case_() {
    local label=$1 root=$2
    shift 2
    local trees=() w
    for w in "$@"; do
        case $w in --watch) ;; --*) ;; *) [ -e "$root$w" ] && trees+=("${w#/}") ;; esac
    done
    local tz
    tz=$(tar -C "$root" -cf - "${trees[@]}" 2>/dev/null | zstd -3 -q -c | wc -c)
    local tt=()
    for i in $(seq "$RUNS"); do
        a=$(date +%s%N); tar -C "$root" -cf - "${trees[@]}" 2>/dev/null | cat >/dev/null; b=$(date +%s%N)
        tt+=("$(ms "$a" "$b")")
    done
    local tm
    tm=$(printf '%s\n' "${tt[@]}" | median)
    echo "== $label: $root (${trees[*]}), $RUNS runs, medians"
    printf '  tar | zstd -3:      %9d bytes\n' "$tz"
    printf '  tar -cf - | cat:    %9s ms\n' "$tm"
    local bin
    for bin in "${bins[@]}"; do
        local bt=() size=0 dir
        for i in $(seq "$RUNS"); do
            dir=$tmp/db-$label-$i-$(basename "$bin")
            mkdir -m 700 "$dir"
            a=$(date +%s%N)
            "$bin" --db "$dir/cft.db" begin "b$i" --root "$root" "$@" >/dev/null
            b=$(date +%s%N)
            bt+=("$(ms "$a" "$b")")
            # The daemon is idle once begin returned: the checkpoint goes
            # through beside it.
            sqlite3 "$dir/cft.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
            begun=$(bytes "$dir/cft.db" "$dir/cft.db-wal" "$dir/packs")
            "$bin" --db "$dir/cft.db" finish "b$i" >/dev/null
            sqlite3 "$dir/cft.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
            size=$(bytes "$dir/cft.db" "$dir/cft.db-wal" "$dir/packs")
        done
        local bm
        bm=$(printf '%s\n' "${bt[@]}" | median)
        echo "  -- $bin"
        printf '  store after begin:  %9d bytes\n' "$begun"
        awk -v s="$begun" -v z="$tz" 'BEGIN { printf "  ratio store / tar|zstd: %.2f (after begin)\n", s / z }'
        printf '  after finish:       %9d bytes (db %d, packs %d)\n' "$size" \
            "$(bytes "$dir/cft.db" "$dir/cft.db-wal")" "$(bytes "$dir/packs")"
        awk -v s="$size" -v z="$tz" 'BEGIN { printf "  ratio store / tar|zstd: %.2f (after finish)\n", s / z }'
        printf '  cft begin:          %9s ms\n' "$bm"
        awk -v c="$bm" -v t="$tm" 'BEGIN { printf "  ratio begin / tar|cat:  %.2f\n", c / t }'
        if sqlite3 "$dir/cft.db" 'SELECT 1 FROM dbstat LIMIT 1' >/dev/null 2>&1; then
            echo "  database pages by table (bytes; page size $(sqlite3 "$dir/cft.db" 'PRAGMA page_size')):"
            sqlite3 -separator ' ' "$dir/cft.db" \
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6" |
                awk '{ printf "    %-28s %9d\n", $1, $2 }'
        fi
        # Erase one of two sessions: what it costs and what is left.
        "$bin" --db "$dir/cft.db" begin again --root "$root" "$@" >/dev/null
        "$bin" --db "$dir/cft.db" finish again >/dev/null
        a=$(date +%s%N); "$bin" --db "$dir/cft.db" erase again >/dev/null; b=$(date +%s%N)
        printf '  cft erase (1 of 2): %9s ms, store then %d bytes\n' "$(ms "$a" "$b")" \
            "$(bytes "$dir/cft.db" "$dir/cft.db-wal" "$dir/packs")"
    done
}

bins=()
[ -n "${CFT_BEFORE:-}" ] && bins+=("$CFT_BEFORE")
bins+=("$CFT")
case_ debian "$RA" --no-default-watch --watch /etc --watch /root --watch /srv --watch /opt \
    --watch /usr/local --watch /var/www --watch /var/spool/cron
case_ configs "$RB" --no-default-watch --watch /etc
