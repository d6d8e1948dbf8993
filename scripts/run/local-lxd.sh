#!/usr/bin/env bash
# The run command's local LXD host: makes sure an LXD daemon answers on this machine and prints
# its unix socket, for Mosaic to register as host `local` (MOSAIC_LOCAL_LXD_SOCKET).
#
#   scripts/run/local-lxd.sh [--images]
#
# A daemon that already answers (at $LXD_DIR, default /var/lib/lxd, or the snap's) is used. If
# none does, as root, it installs Debian's `lxd` and starts it (systemd's units where systemd
# runs and LXD_DIR is the default; else a detached daemon). A daemon with no storage pool yet
# (never initialised) is initialised minimally, each step only when missing: a `dir` storage
# pool `default`, a root disk in the `default` profile, and a bridge `lxdbr0` as the profile's
# NIC where the machine allows one (LXD needs dnsmasq and nft or iptables for it; without a
# bridge, containers simply get no network). `--images` also builds the small images Mosaic's
# tests use (scripts/images, cached in ~/.cache/mosaic/images) and imports them as `busybox` and
# `debian-cloudinit`. Exits non-zero, saying why, when no daemon can be had.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."

log() { printf '[run] local LXD: %s\n' "$*" >&2; }
die() {
    log "$*"
    exit 1
}
# shellcheck source=scripts/lib/apt.sh
source scripts/lib/apt.sh
# shellcheck source=scripts/lib/images.sh
source scripts/lib/images.sh

images=0
case ${1:-} in
    --images) images=1 ;;
    "") ;;
    *) die "usage: $0 [--images]" ;;
esac

dir=${LXD_DIR:-/var/lib/lxd}
answers() { [[ -S $1/unix.socket ]] && command -v lxc >/dev/null && LXD_DIR=$1 timeout 10 lxc query /1.0 >/dev/null 2>&1; }
on() { LXD_DIR=$dir lxc "$@"; }

start_daemon() {
    if [[ -d /run/systemd/system && $dir == /var/lib/lxd ]]; then
        log "starting Debian's lxd service"
        systemctl enable --now --quiet lxd.socket lxd.service
    else
        # No systemd (a container), or a daemon of one's own at LXD_DIR: start it detached from
        # this shell so it outlives the run command.
        local group=root
        getent group lxd >/dev/null && group=lxd
        mkdir -p "$dir"
        log "starting lxd (LXD_DIR=$dir, log $dir/lxd.log)"
        (cd / && LXD_DIR=$dir exec setsid nohup lxd --group "$group" --logfile "$dir/lxd.log") \
            </dev/null >>"$dir/lxd.out" 2>&1 &
    fi
    LXD_DIR=$dir lxd waitready --timeout 60 || {
        tail -n 20 "$dir/lxd.log" >&2 || true
        die "lxd did not become ready"
    }
}

# What `lxd init --auto` would do, minus its insistence on a bridge (it fails where none can be
# made), each step only when it is missing.
initialise() {
    local profile
    if ! on storage show default >/dev/null 2>&1; then
        log "creating the dir storage pool 'default'"
        on storage create default dir >/dev/null
    fi
    profile=$(on query /1.0/profiles/default)
    if [[ $(jq -r '.devices.root.type // empty' <<<"$profile") != disk ]]; then
        log "adding a root disk to the default profile"
        on profile device add default root disk path=/ pool=default >/dev/null
    fi
    [[ -z $(jq -r '.devices[] | select(.type == "nic") | .type' <<<"$profile") ]] || return 0
    local out
    if ! on network show lxdbr0 >/dev/null 2>&1; then
        # LXD's managed bridge runs dnsmasq and sets up NAT with nft or iptables: without them
        # it cannot work, so do not even ask (LXD would probe for a free subnet first).
        if ! command -v dnsmasq >/dev/null || ! { command -v nft || command -v iptables; } >/dev/null; then
            log "no bridge: this machine lacks dnsmasq or a firewall tool (nft, iptables); containers get no network"
            return 0
        fi
        if ! out=$(on network create lxdbr0 2>&1); then
            log "no bridge here (LXD says: ${out//$'\n'/ }); containers get no network"
            return 0
        fi
        log "created the bridge lxdbr0"
    fi
    log "attaching lxdbr0 to the default profile"
    on profile device add default eth0 nic network=lxdbr0 name=eth0 >/dev/null
}

if answers "$dir"; then
    :
elif [[ -z ${LXD_DIR:-} ]] && answers /var/snap/lxd/common/lxd; then
    dir=/var/snap/lxd/common/lxd
else
    [[ $(id -u) == 0 ]] || die "no LXD daemon answers at $dir; run as root to have one installed"
    ensure_packages lxd jq
    start_daemon
fi
# A daemon without any storage pool was never initialised (just installed, or its first start
# was interrupted): nothing of anyone's to disturb, and nothing can run on it as it is.
# (2>/dev/null: the first lxc call with a new LXD_CONF prints "first time ... lxd init" hints.)
if [[ $(on query /1.0/storage-pools 2>/dev/null | jq length) == 0 ]]; then
    initialise
    log "initialised at $dir"
fi

if ((images)); then
    ensure_packages busybox-static debootstrap curl jq zstd
    for alias in "${IMAGE_ALIASES[@]}"; do
        build_image_if_missing "$alias"
        import_image "$dir" "$alias" "$dir"
    done
fi
echo "$dir/unix.socket"
