#!/bin/bash
# setup-host.sh: everything the tests need on a fresh Debian machine, as root.
#   debootstrap zstd util-linux   build and enter the test root filesystem
#   puppet-agent puppet-lint      validate, lint and apply generated modules
#   libxml2-utils libvirt-clients validate appliance descriptors (xmllint, virt-xml-validate)
#   zsh                           the recording shell tests (bash is there already)
#   python3-venv                  the pykickstart venv (ksvalidator, from PyPI) under $TESTBED_DIR
#   puppetserver curl             the client/server test's own server (run by the test, not as a service)
# Then builds the cached Debian root filesystem tarballs (base and +puppet)
# under $TESTBED_DIR (default /var/tmp/cft-testbed), outside the repository,
# once: later runs reuse them. Idempotent.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "setup-host.sh: must run as root (apt-get, debootstrap)" >&2; exit 1; }
HERE=$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")
TOP=$(dirname -- "$HERE")
pkgs=(debootstrap zstd util-linux puppet-agent puppet-lint libxml2-utils libvirt-clients python3-venv zsh octocatalog-diff chromium puppetserver curl)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup-host: installing ${missing[*]}" >&2
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
# The test starts its own puppetserver; the package's service would only
# hold a gigabyte and port 8140 (a booted machine starts it on install).
if [ -d /run/systemd/system ] && systemctl is-enabled --quiet puppetserver 2>/dev/null; then
    systemctl disable --now puppetserver
fi
"$TOP/testbed/make-rootfs.sh" build --puppet
# ksvalidator for the partial kickstart tests: creates $TESTBED_DIR/venv-pykickstart once.
"$TOP/testbed/validate-kickstart.sh" --version-only >&2
echo "setup-host: puppet $(puppet --version), $(puppet-lint --version 2>&1 | head -n1), debootstrap $(dpkg-query -W -f='${Version}' debootstrap)" >&2
