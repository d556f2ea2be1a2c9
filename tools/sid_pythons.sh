#!/usr/bin/env bash
# Python 3.14 and 3.15 for the test matrix, from Debian's unstable archive ("sid").
#
# They need sid's C library, so they live in a sid chroot rather than on this machine's system.
# The chroot is made once (about two minutes) and kept; every later call only checks it is
# whole and mounts what a test run needs, which takes a second.
#
#   bash tools/sid_pythons.sh setup        make (or check) the chroot and mount this repository in it
#   bash tools/sid_pythons.sh versions     print the minor versions it has, e.g. "3.14 3.15"
#   bash tools/sid_pythons.sh run CMD...   run CMD inside the chroot, in this repository's folder
#
# Needs root and Debian's debootstrap (installed here with apt-get when missing).
# ASYNCLAB_SID_CHROOT chooses where the chroot lives (default /var/cache/asyncio-lab/sid).
set -euo pipefail
# chroot, debootstrap and mount live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

REPO=$(cd "$(dirname "$0")/.." && pwd)
CHROOT=${ASYNCLAB_SID_CHROOT:-/var/cache/asyncio-lab/sid}
PYTHONS="python3.14 python3.15"
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
STAMP="$CHROOT/.asyncio-lab-ready"

say() { echo "sid_pythons: $*" >&2; }

need_root() {
    if [ "$(id -u)" != 0 ]; then
        say "making a chroot needs root (run it with sudo, or as root in CI)"
        exit 2
    fi
}

make_chroot() {
    need_root
    if ! command -v debootstrap >/dev/null 2>&1; then
        say "installing debootstrap"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    say "making a Debian sid chroot in $CHROOT (about a minute)"
    # A half-made chroot from an earlier try may still have /dev and a repository bind-mounted in
    # it: unmount everything first, and never let rm cross into another file system.
    unmount_all
    rm -rf --one-file-system "$CHROOT"
    mkdir -p "$(dirname "$CHROOT")"
    debootstrap --variant=minbase --include=ca-certificates sid "$CHROOT" >/dev/null
    mount_all
    cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
    say "installing $PYTHONS in it"
    # The archive's Release file can be older than its validity date: do not reject it for that.
    chroot "$CHROOT" apt-get -qq -o Acquire::Check-Valid-Until=false update
    local packages=""
    for py in $PYTHONS; do packages="$packages $py $py-venv"; done
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive chroot "$CHROOT" apt-get install -y -qq $packages >/dev/null
    touch "$STAMP"
}

unmount_all() {
    local target
    # Deepest first, so that /dev/pts goes before /dev.
    for target in $(awk -v root="$CHROOT" '$2 == root || index($2, root "/") == 1 {print $2}' /proc/mounts | sort -r); do
        umount -l "$target" 2>/dev/null || true
    done
}

mount_one() {   # $1 = source, $2 = target inside the chroot, rest = mount options
    local source=$1 target="$CHROOT$2"; shift 2
    mkdir -p "$target"
    mountpoint -q "$target" || mount "$@" "$source" "$target"
}

mount_all() {
    need_root
    mount_one proc /proc -t proc
    mount_one sysfs /sys -t sysfs
    mount_one /dev /dev --bind
    mount_one devpts /dev/pts -t devpts -o newinstance,ptmxmode=0666
    mount_one tmpfs /dev/shm -t tmpfs        # multiprocessing's semaphores live here
    # The repository at the same path inside, so venvs made inside work from any later run.  A
    # repository deleted and cloned again at the same path (a fresh clone for a test run) leaves
    # the old, deleted folder mounted there: mount the new one in its place.
    local inside="$CHROOT$REPO"
    if mountpoint -q "$inside" && [ "$(stat -c %d:%i "$inside")" != "$(stat -c %d:%i "$REPO")" ]; then
        umount -l "$inside"
    fi
    mount_one "$REPO" "$REPO" --bind
    # pip inside the chroot checks certificates against this machine's bundle.
    [ -f "$CA_BUNDLE" ] && cp "$CA_BUNDLE" "$CHROOT/etc/ssl/certs/asyncio-lab-ca.crt"
    cp /etc/resolv.conf "$CHROOT/etc/resolv.conf"
}

setup() {
    if [ ! -f "$STAMP" ]; then
        make_chroot
    else
        mount_all
    fi
    for py in $PYTHONS; do
        chroot "$CHROOT" "$py" -c 'import sys' || { say "$py is broken in $CHROOT; remove it and run again"; exit 1; }
    done
    say "ready: $(versions)"
}

versions() {
    local found=""
    [ -f "$STAMP" ] || { echo ""; return; }
    for py in $PYTHONS; do
        [ -x "$CHROOT/usr/bin/$py" ] && found="$found ${py#python}"
    done
    echo "${found# }"
}

run() {
    [ -f "$STAMP" ] || { say "no chroot yet: run 'bash tools/sid_pythons.sh setup' first"; exit 2; }
    mount_all
    local ca=/etc/ssl/certs/asyncio-lab-ca.crt
    # A clean environment: the host's PATH, pip settings and virtualenv mean nothing inside.
    chroot "$CHROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" CI="${CI:-}" \
        PATH=/usr/local/bin:/usr/bin:/bin PIP_CERT=$ca SSL_CERT_FILE=$ca REQUESTS_CA_BUNDLE=$ca \
        PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 \
        /bin/bash -c 'cd "$0" && exec "$@"' "$REPO" "$@"
}

case "${1:-}" in
    setup) setup ;;
    versions) versions ;;
    run) shift; run "$@" ;;
    *) echo "usage: bash tools/sid_pythons.sh setup | versions | run CMD..." >&2; exit 2 ;;
esac
