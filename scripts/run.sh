#!/usr/bin/env bash
# Sets up and runs Mosaic on this machine: http://127.0.0.1:8080 (MOSAIC_LISTEN overrides).
#
#   scripts/run.sh [--images]
#
# On a fresh Debian machine it installs PostgreSQL's server binaries (Mosaic runs its own private
# cluster in its data directory unless MOSAIC_DATABASE_URL is set) and HAProxy (Mosaic runs its
# own process; the distro's service is kept off), builds the web app and Mosaic, and starts the
# server. The first start prints the admin's API token, once.
#
# The local LXD daemon becomes host `local`: the one that answers, or else Debian's `lxd`,
# installed and initialised minimally (scripts/run/local-lxd.sh). MOSAIC_NO_LOCAL_LXD=1 opts out.
# --images (or MOSAIC_BUILD_IMAGES=1) also builds the small images the tests use and imports them
# there as `busybox` and `debian-cloudinit`.
set -euo pipefail
cd "$(dirname "$0")/.."

images=${MOSAIC_BUILD_IMAGES:-0}
for arg in "$@"; do
    case $arg in
        --images) images=1 ;;
        *)
            echo "usage: $0 [--images]" >&2
            exit 2
            ;;
    esac
done

log() { printf '[run] %s\n' "$*"; }
# shellcheck source=scripts/lib/apt.sh
source scripts/lib/apt.sh

need_apt=()
if [ -z "${MOSAIC_DATABASE_URL:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need_apt+=(postgresql)
fi
command -v cc >/dev/null || need_apt+=(build-essential)
[ -e /usr/include/postgresql/libpq-fe.h ] || need_apt+=(libpq-dev)
[ -n "${MOSAIC_HAPROXY_BIN:-}" ] || need_apt+=(haproxy)
ensure_packages "${need_apt[@]}"
if [ -z "${MOSAIC_HAPROXY_BIN:-}" ] && [ "$(id -u)" = 0 ]; then
    distro_service_off haproxy
fi

# The local LXD host (Mosaic registers the socket at start when it answers).
if [ "${MOSAIC_NO_LOCAL_LXD:-0}" = 1 ]; then
    log "MOSAIC_NO_LOCAL_LXD=1: no local LXD host"
    unset MOSAIC_LOCAL_LXD_SOCKET
else
    local_lxd=(scripts/run/local-lxd.sh)
    [ "$images" = 1 ] && local_lxd+=(--images)
    # A socket named by the operator says where the daemon lives.
    if [ -n "${MOSAIC_LOCAL_LXD_SOCKET:-}" ]; then
        LXD_DIR=$(dirname "$MOSAIC_LOCAL_LXD_SOCKET")
        export LXD_DIR
    fi
    if socket=$("${local_lxd[@]}"); then
        export MOSAIC_LOCAL_LXD_SOCKET="$socket"
    else
        log "going on without a local LXD host"
        unset MOSAIC_LOCAL_LXD_SOCKET
    fi
fi

export MOSAIC_LISTEN="${MOSAIC_LISTEN:-127.0.0.1:8080}"
export MOSAIC_FRONTEND_DIR="${MOSAIC_FRONTEND_DIR:-$PWD/frontend/dist}"
log "building the web app"
scripts/build-frontend.sh
log "building Mosaic"
cargo build --release --locked -p mosaic-api --bin mosaic
log "starting Mosaic on http://$MOSAIC_LISTEN"
exec target/release/mosaic
