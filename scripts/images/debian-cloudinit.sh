#!/usr/bin/env bash
# Build the `debian-cloudinit` LXD test image: Debian bookworm (minbase + systemd) with cloud-init,
# as a unified image tarball (metadata.yaml + rootfs/). Mosaic's deploy tests need a guest that
# really runs cloud-init user-data (write_files, runcmd, phone_home) and reports its status.
#
# Usage: scripts/images/debian-cloudinit.sh OUTPUT_TARBALL
# Needs: debootstrap, tar, zstd, root, and the Debian mirror this machine's apt already uses
# (override with MOSAIC_DEBIAN_MIRROR). Takes ~70 s here; the caller caches the result.
set -euo pipefail

log() { echo "[testenv] [debian-cloudinit image] $*" >&2; }

out=${1:?usage: $0 OUTPUT_TARBALL}
suite=bookworm

# The mirror apt on this machine already uses for $suite (the only place we may download from).
# Handles both deb822 *.sources stanzas and one-line "deb URI suite ..." entries.
detect_mirror() {
    local files=() f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [[ -f $f ]] && files+=("$f"); done
    if ((${#files[@]})); then
        awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                               if ($(i + 1) == s) { print $i; exit } }' "${files[@]}" | head -n1
    fi
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk -v s="$suite" 'BEGIN { RS = "" }
            { uri = ""; hit = 0; enabled = 1
              n = split($0, lines, "\n")
              for (j = 1; j <= n; j++) {
                  split(lines[j], w, /[ \t]+/)
                  if (w[1] == "URIs:") uri = w[2]
                  if (w[1] == "Enabled:" && w[2] == "no") enabled = 0
                  if (w[1] == "Suites:") for (k = 2; k in w; k++) if (w[k] == s) hit = 1
              }
              if (hit && enabled && uri != "") print uri }' "$f"
    done | head -n1
}
mirror=${MOSAIC_DEBIAN_MIRROR:-$(detect_mirror)}
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}

work=$(mktemp -d "$(dirname "$out")/.debian-cloudinit-build.XXXXXX")
root=$work/rootfs

# Unmount whatever we mounted in the chroot before deleting it (deepest first), and never let
# rm cross into a mount that is still there.
cleanup() {
    local m
    findmnt -rn -o TARGET | awk -v p="$work/" 'index($0, p) == 1' | sort -r | while read -r m; do
        umount -l "$m" || true
    done
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT

in_chroot() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 HOME=/root "$@"; }

log "debootstrap $suite from $mirror (minbase + systemd)"
# systemd/systemd-sysv: cloud-init runs as systemd units, so /sbin/init must be systemd.
# python3-cffi-backend: part of the recipe verified in docs/LXD.md (a dependency of cloud-init's
# Python crypto stack), installed up front with the base system.
debootstrap --variant=minbase --include=systemd,systemd-sysv,python3-cffi-backend \
    "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
    tail -n 30 "$work/debootstrap.log" >&2
    exit 1
}

# Keep docs/man pages out of the image (smaller tarball, faster unpack on every launch).
cat >"$root/etc/dpkg/dpkg.cfg.d/01-mosaic-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
EOF
# Never start services inside the build chroot.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
echo "deb $mirror $suite main" >"$root/etc/apt/sources.list"

mount -t proc proc "$root/proc"
mount -t devpts devpts "$root/dev/pts" -o newinstance,ptmxmode=0666 2>/dev/null || true

log "installing cloud-init in the chroot"
# iproute2/netbase: cloud-init's networking code shells out to `ip` (it also picks its network
# renderer by what is installed) and reads /etc/protocols.
# locales + a generated en_US.UTF-8: without it cloud-init's locale module fails and
# `cloud-init status` reports `error` even when user-data applied fine.
{
    in_chroot apt-get update
    in_chroot apt-get install -y --no-install-recommends cloud-init locales iproute2 netbase
} >"$work/apt.log" 2>&1 || {
    tail -n 30 "$work/apt.log" >&2
    exit 1
}
echo 'en_US.UTF-8 UTF-8' >"$root/etc/locale.gen"
in_chroot locale-gen >/dev/null
echo 'LANG=en_US.UTF-8' >"$root/etc/default/locale"

# The containers have no NIC (Mosaic's test hosts must only ever talk over loopback): tell
# cloud-init not to render any network configuration, and only to look for LXD's own datasource
# (/dev/lxd/sock) or a NoCloud seed instead of probing a dozen clouds.
# (Without this, LXD's default network config makes cloud-init write an eth0 DHCP .network file
# for an interface that never exists.) No sshd in the image: skip host key generation, which
# otherwise logs a warning per key type.
cat >"$root/etc/cloud/cloud.cfg.d/95-mosaic-test.cfg" <<'EOF'
datasource_list: [ LXD, NoCloud, None ]
network:
  config: disabled
ssh_genkeytypes: []
EOF

# An unprivileged container may not mount binfmt_misc; the failing unit would leave systemd
# "degraded" in every container. Nothing here needs foreign binary formats.
ln -sf /dev/null "$root/etc/systemd/system/systemd-binfmt.service"

log "cleaning up the rootfs"
umount "$root/dev/pts" 2>/dev/null || true
umount "$root/proc"
rm -f "$root/usr/sbin/policy-rc.d"
in_chroot apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/tmp/* "$root"/root/.cache
# A fresh machine-id per container (systemd creates one at first boot when the file is empty)
# and a hostname that cloud-init / LXD will replace.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
echo debian >"$root/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"

cat >"$work/metadata.yaml" <<EOF
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: Debian $suite with cloud-init (Mosaic test image)
  os: debian
  release: $suite
  architecture: x86_64
  variant: cloud
EOF

log "packing $out"
# zstd: LXD's dir backend unpacks the whole image on every launch, and zstd decompresses several
# times faster than gzip for a similar size. --numeric-owner: uids must not be remapped by name.
tar --numeric-owner --xattrs --xattrs-include='*' -C "$work" -cf - metadata.yaml rootfs |
    zstd -q -T0 -6 -o "$out.tmp" -f
# Rename only a complete tarball into place, so an interrupted build never poisons the cache.
mv -f "$out.tmp" "$out"
log "done: $(du -h "$out" | cut -f1)"
