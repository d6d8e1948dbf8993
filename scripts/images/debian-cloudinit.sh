#!/usr/bin/env bash
# Build the `debian-cloudinit` LXD test image: Debian bookworm (minbase + systemd) with cloud-init,
# as a unified image tarball (metadata.yaml + rootfs/). Mosaic's deploy tests need a guest that
# really runs cloud-init user-data (write_files, runcmd, phone_home) and reports its status.
#
# Usage: scripts/images/debian-cloudinit.sh OUTPUT_TARBALL
# Needs: debootstrap, tar, zstd, curl, root, and the Debian mirror this machine's apt already uses
# (or MOSAIC_DEBIAN_MIRROR; without either it stops and says so). Takes ~70 s here; the caller
# caches the result.
set -euo pipefail

log() { echo "[testenv] [debian-cloudinit image] $*" >&2; }

out=${1:?usage: $0 OUTPUT_TARBALL}
suite=bookworm

# The Debian mirror: MOSAIC_DEBIAN_MIRROR, else the one this machine's apt already uses (the only
# place we may download from). No mirror host is written into this script.
#
# Every enabled `deb` source as "URI SUITE" lines, from one-line entries in sources.list and
# sources.list.d/*.list and from deb822 stanzas in sources.list.d/*.sources.
apt_sources() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        # "deb [ options ] URI SUITE COMPONENT...": drop the options, then the fields are fixed.
        sed -E 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { print $2, $3 }'
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        # Stanzas are separated by blank lines; field names are case-insensitive; an indented
        # line continues the field before it (e.g. an inline Signed-By key), "#" starts a comment.
        awk 'function flush(  i, j, nu, ns, us, ss) {
                 if (types ~ /(^| )deb( |$)/ && enabled != "no") {
                     nu = split(uris, us, " "); ns = split(suites, ss, " ")
                     for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++) print us[i], ss[j]
                 }
                 types = uris = suites = field = ""; enabled = "yes"
             }
             BEGIN { enabled = "yes" }
             /^[ \t]*$/ { flush(); next }
             /^#/ { next }
             /^[ \t]/ { if (field == "uris") uris = uris " " $0; else if (field == "suites") suites = suites " " $0; next }
             { split($0, kv, ":"); field = tolower(kv[1]); value = substr($0, length(kv[1]) + 2)
               if (field == "types") types = value
               else if (field == "uris") uris = value
               else if (field == "suites") suites = value
               else if (field == "enabled") { gsub(/[ \t]/, "", value); enabled = tolower(value) } }
             END { flush() }' "$f"
    done
}

# A URI debootstrap can fetch from (apt's mirror+, tor+ and cdrom: methods it cannot).
fetchable() { [[ $1 =~ ^(https?|ftp|file):/ ]]; }

# Does this mirror carry $suite? (Only asked of mirrors apt lists for another Debian release.)
serves_suite() {
    local uri=${1%/}
    if [[ $uri == file:* ]]; then
        [[ -f ${uri#file:}/dists/$suite/Release ]]
    else
        curl -fsI --max-time 15 -o /dev/null "$uri/dists/$suite/Release"
    fi
}

detect_mirror() {
    local sources uri s
    sources=$(apt_sources)
    # A source for $suite itself...
    while read -r uri s; do
        [[ $s == "$suite" ]] && fetchable "$uri" && { echo "$uri"; return 0; }
    done <<<"$sources"
    # ...else the main archive of another release (a plain suite name: not -security, -updates,
    # -backports) if it also carries $suite, as Debian's mirrors do.
    while read -r uri s; do
        [[ $s =~ ^[a-z]+$ ]] && fetchable "$uri" && serves_suite "$uri" && { echo "$uri"; return 0; }
    done <<<"$sources"
    return 0
}
mirror=${MOSAIC_DEBIAN_MIRROR:-$(detect_mirror)}
if [[ -z $mirror ]]; then
    log "no Debian mirror for $suite: none of /etc/apt/sources.list, /etc/apt/sources.list.d/*.list"
    log "or /etc/apt/sources.list.d/*.sources names one (a 'deb' source for $suite, or a Debian"
    log "archive that carries it). Set MOSAIC_DEBIAN_MIRROR to the mirror's URL (the directory"
    log "holding dists/$suite)."
    exit 1
fi
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
