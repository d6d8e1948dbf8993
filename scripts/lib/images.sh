# shellcheck shell=bash disable=SC2034 # (settings for the scripts that source this file)
# The small LXD images Mosaic's tests use (`busybox`, `debian-cloudinit`; built by
# scripts/images/<alias>.sh), cached as tarballs, and imported into a daemon under their alias.
# Sourced by scripts/testenv.sh and scripts/run.sh; the caller defines log().
#
# Tarballs live in $MOSAIC_CACHE_DIR/images (default ~/.cache/mosaic/images).

IMAGE_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../images" && pwd)
IMAGE_CACHE=${MOSAIC_CACHE_DIR:-$HOME/.cache/mosaic}/images
IMAGE_ALIASES=(busybox debian-cloudinit)
# Image alias -> tarball extension (the build script picks the compression).
declare -A IMAGE_EXT=([busybox]=tar.gz [debian-cloudinit]=tar.zst)

# Tarball path for an image; its name carries a hash of the build script, so editing the script
# rebuilds the image (and gives CI a natural cache key).
image_tarball() {
    local alias=$1 key
    key=$(sha256sum "$IMAGE_SCRIPTS/$alias.sh" | cut -c1-12)
    echo "$IMAGE_CACHE/$alias-$key.${IMAGE_EXT[$alias]}"
}

# Build the tarball if the cache lacks it; records the alias in BUILT_IMAGES when it did.
# (Results go through a variable, not the exit status: `set -e` is off inside a function whose
# status is being tested, which would let a failed build slip through.)
BUILT_IMAGES=()
build_image_if_missing() {
    local alias=$1 tarball old t0=$SECONDS
    tarball=$(image_tarball "$alias")
    [[ -s $tarball ]] && return 0
    mkdir -p "$IMAGE_CACHE"
    log "image $alias: building $tarball"
    bash "$IMAGE_SCRIPTS/$alias.sh" "$tarball"
    sha256sum "$tarball" | cut -d' ' -f1 >"$tarball.sha256"
    log "image $alias: built in $((SECONDS - t0)) s"
    # Drop tarballs of older versions of this image.
    for old in "$IMAGE_CACHE/$alias"-*."${IMAGE_EXT[$alias]}"; do
        [[ $old == "$tarball" ]] || rm -f "$old" "$old.sha256"
    done
    BUILT_IMAGES+=("$alias")
}

# A unified image's LXD fingerprint is the sha256 of the tarball; cached next to it.
image_fingerprint() {
    local tarball=$1
    [[ -s $tarball.sha256 ]] || sha256sum "$tarball" | cut -d' ' -f1 >"$tarball.sha256"
    cat "$tarball.sha256"
}

# Make `alias` on the daemon at LXD_DIR `dir` point at this tarball's image, importing it only
# when needed. `label` names the daemon in the log.
import_image() {
    local dir=$1 alias=$2 label=$3 tarball fp current
    tarball=$(image_tarball "$alias")
    fp=$(image_fingerprint "$tarball")
    current=$(LXD_DIR=$dir lxc query "/1.0/images/aliases/$alias" 2>/dev/null | jq -r .target) || current=
    [[ $current == "$fp" ]] && return 0
    if ! LXD_DIR=$dir lxc query "/1.0/images/$fp" >/dev/null 2>&1; then
        log "$label: importing image $alias (${fp:0:12})"
        LXD_DIR=$dir lxc image import "$tarball" --quiet >/dev/null
    fi
    if [[ -n $current ]]; then
        # Retarget the alias in one call, so a launch by alias never finds it missing (the
        # test daemons are shared with running tests), then drop the old image.
        log "$label: moving alias $alias from ${current:0:12} to ${fp:0:12}"
        LXD_DIR=$dir lxc query -X PUT "/1.0/images/aliases/$alias" \
            --data "$(jq -nc --arg fp "$fp" '{target: $fp, description: ""}')" >/dev/null
        LXD_DIR=$dir lxc image delete "$current" 2>/dev/null || true
    else
        LXD_DIR=$dir lxc image alias create "$alias" "$fp"
    fi
}
