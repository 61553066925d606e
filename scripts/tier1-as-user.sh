#!/bin/bash
# tier1-as-user.sh: proves that tier 1 (plain `cargo test --workspace`)
# needs nothing but Rust. Run as root; it runs the tests as an ordinary
# user ($TIER1_USER, default cft-tier1, created if missing) with no root
# (no capabilities, no_new_privs: no sudo or setuid helper either), in a
# private mount namespace where Puppet, puppet-lint, facter, debootstrap,
# xmllint, virt-xml-validate, ksvalidator and zsh are not there (/dev/null
# is mounted over each) and the test bed's directory is empty, and with a
# clean environment (no CFT_TESTBED). The user builds a copy of the
# working tree (tracked and untracked files, not ignored ones) in
# $TIER1_DIR (default /var/tmp/cft-tier1) with root's toolchain, mounted
# read-only, and a copy of root's crate registry, offline.
#
#   scripts/tier1-as-user.sh [CARGO TEST ARGS...]   e.g. -- --test-threads=2
#
# Rerunnable: the user's target directory is kept, so a second run only
# rebuilds what changed.
set -euo pipefail
HIDDEN=(puppet puppet-lint facter debootstrap xmllint virt-xml-validate ksvalidator zsh)
TIER1_USER=${TIER1_USER:-cft-tier1}
TIER1_DIR=${TIER1_DIR:-/var/tmp/cft-tier1}
TESTBED_DIR=${TESTBED_DIR:-/var/tmp/cft-testbed}

if [ "${1:-}" != --inside ]; then
    [ "$(id -u)" = 0 ] || { echo "tier1-as-user.sh: must run as root (creates the user, hides the tools in a private mount namespace)" >&2; exit 1; }
    HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
    TOP=$(dirname -- "$HERE")
    id -u "$TIER1_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TIER1_USER"
    group=$(id -gn "$TIER1_USER")
    as_user() { setpriv --reuid="$TIER1_USER" --regid="$group" --init-groups --no-new-privs -- "$@"; }
    # Root's toolchain and registry, complete for this lock file.
    SYSROOT=$(rustc --print sysroot)
    (cd "$TOP" && cargo fetch --locked -q)
    root_registry=${CARGO_HOME:-$HOME/.cargo}/registry
    install -d -m 0755 "$TIER1_DIR" "$TIER1_DIR/toolchain"
    install -d -o "$TIER1_USER" -g "$group" -m 0700 "$TIER1_DIR/target" "$TIER1_DIR/cargo" "$TIER1_DIR/cargo/registry"
    for d in index cache; do
        rm -rf "${TIER1_DIR:?}/cargo/registry/$d"
        cp -a "$root_registry/$d" "$TIER1_DIR/cargo/registry/$d"
        chown -R "$TIER1_USER:$group" "$TIER1_DIR/cargo/registry/$d"
    done
    # The working tree; tar keeps modification times, so an unchanged
    # file is not rebuilt.
    rm -rf "${TIER1_DIR:?}/src"
    install -d -o "$TIER1_USER" -g "$group" -m 0700 "$TIER1_DIR/src"
    git -C "$TOP" ls-files -z --cached --others --exclude-standard |
        (cd "$TOP" && tar --null --ignore-failed-read -T - -cf -) |
        as_user tar -xf - -C "$TIER1_DIR/src"
    export TIER1_USER TIER1_DIR TESTBED_DIR SYSROOT group
    exec unshare --mount --propagation private -- "$0" --inside "$@"
fi
shift

# In the private mount namespace, still root: take the tools away.
mount --bind -o ro "$SYSROOT" "$TIER1_DIR/toolchain"
hidden=()
for t in "${HIDDEN[@]}"; do
    for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin /opt/puppetlabs/bin; do
        if [ -e "$d/$t" ]; then
            mount --bind /dev/null "$d/$t"
            hidden+=("$d/$t")
        fi
    done
done
if [ -d "$TESTBED_DIR" ]; then
    mount -t tmpfs -o mode=0755 tmpfs "$TESTBED_DIR"
fi
home=$(getent passwd "$TIER1_USER" | cut -d: -f6)
path="$TIER1_DIR/toolchain/bin:/usr/local/bin:/usr/bin:/bin"
run() {
    setpriv --reuid="$TIER1_USER" --regid="$group" --init-groups --no-new-privs -- \
        env -i HOME="$home" USER="$TIER1_USER" LOGNAME="$TIER1_USER" LANG=C.UTF-8 \
        PATH="$path" CARGO_HOME="$TIER1_DIR/cargo" CARGO_TARGET_DIR="$TIER1_DIR/target" \
        "$@"
}
# What the tests will see.
run sh -euc '
    [ "$(id -u)" != 0 ] || { echo "tier1-as-user: still root" >&2; exit 1; }
    grep -q "^CapEff:[[:space:]]*0*$" /proc/self/status || { echo "tier1-as-user: has capabilities" >&2; exit 1; }
    for t in "$@"; do
        if command -v "$t" >/dev/null 2>&1 && [ -x "$(command -v "$t")" ]; then
            echo "tier1-as-user: $t is still there" >&2; exit 1
        fi
    done
    if [ -n "${CFT_TESTBED:-}" ]; then echo "tier1-as-user: CFT_TESTBED is set" >&2; exit 1; fi
' sh "${HIDDEN[@]}"
echo "tier1-as-user: $(run id -un) (uid $(run id -u)), no capabilities, no_new_privs; hidden: ${HIDDEN[*]} (${#hidden[@]} paths) and $TESTBED_DIR; $(run cargo --version)" >&2
cd "$TIER1_DIR/src"
run cargo test --workspace --locked --offline --no-fail-fast --lib --bins --tests "$@"
