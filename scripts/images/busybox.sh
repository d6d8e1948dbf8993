#!/usr/bin/env bash
# Build the `busybox` LXD test image: a unified image tarball (metadata.yaml + rootfs/) holding a
# static busybox, its applet symlinks and a tiny /sbin/init. Containers from it start in about a
# second, which is what most Mosaic integration tests want.
#
# Usage: scripts/images/busybox.sh OUTPUT_TARBALL
# Needs: busybox-static (/bin/busybox), tar, gzip. Runs as root (files must be owned by uid 0).
set -euo pipefail

log() { echo "[testenv] [busybox image] $*" >&2; }

out=${1:?usage: $0 OUTPUT_TARBALL}
busybox=${BUSYBOX:-/bin/busybox}

# The image has no shared libraries in its rootfs, so only the static build will do.
if ldd "$busybox" 2>/dev/null | grep -q '=>'; then
    log "$busybox is dynamically linked; install busybox-static"
    exit 1
fi

work=$(mktemp -d "$(dirname "$out")/.busybox-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

log "assembling rootfs in $work"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,run,var/log}
ln -s ../run "$root/var/run"
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
install -m 0755 "$busybox" "$root/bin/busybox"

# One symlink per applet, at the path busybox itself suggests (bin/sh, usr/bin/env, ...).
# /sbin/init is ours (below) and /linuxrc is meaningless in a container.
while read -r applet; do
    case $applet in
        sbin/init | linuxrc | bin/busybox) continue ;;
    esac
    ln -sf /bin/busybox "$root/$applet"
done < <("$busybox" --list-full)

# PID 1. LXD stops a container cleanly by sending init liblxc's halt signal, SIGPWR (SIGRTMIN+3
# only goes to an init that blocks it, like systemd), and waits for it to exit. A PID 1 without
# a handler never even sees the signal (the kernel drops unhandled signals to a namespace's
# init), so `lxc stop` would hang until its timeout. Trapping PWR/TERM/INT and exiting makes a
# clean stop take well under a second. Sleeping in the background and `wait`ing keeps the shell
# interruptible by the trap.
cat >"$root/sbin/init" <<'EOF'
#!/bin/sh
# Mosaic busybox test image init: stay alive until asked to stop.
trap 'exit 0' PWR TERM INT HUP
while :; do
    sleep 3600 &
    wait $!
done
EOF
chmod 0755 "$root/sbin/init"

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
echo busybox >"$root/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"

cat >"$work/metadata.yaml" <<EOF
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: Busybox $("$busybox" 2>&1 | head -n1 | awk '{print $2}') (Mosaic test image)
  os: busybox
  release: "$("$busybox" 2>&1 | head -n1 | awk '{print $2}' | tr -d v)"
  architecture: x86_64
EOF

log "packing $out"
tar --numeric-owner --owner=0 --group=0 -C "$work" -czf "$out.tmp" metadata.yaml rootfs
# Rename only a complete tarball into place, so an interrupted build never poisons the cache.
mv -f "$out.tmp" "$out"
log "done: $(du -h "$out" | cut -f1)"
