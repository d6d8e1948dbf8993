#!/usr/bin/env bash
# Sets up and runs Mosaic on this machine: http://127.0.0.1:8080 (MOSAIC_LISTEN overrides).
#
#   scripts/run.sh
#
# On a fresh Debian machine it installs PostgreSQL's server binaries (Mosaic runs its own private
# cluster in its data directory unless MOSAIC_DATABASE_URL is set) and HAProxy (Mosaic runs its
# own process; the distro's service is kept off), builds the web app and Mosaic, registers the
# local LXD daemon as host `local` if one answers, and starts the server. The first start prints
# the admin's API token, once.
set -euo pipefail
cd "$(dirname "$0")/.."

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

# The local LXD daemon, if there is one (Debian's package, a snap, or LXD_DIR).
if [ -z "${MOSAIC_LOCAL_LXD_SOCKET:-}" ]; then
    for socket in "${LXD_DIR:-/var/lib/lxd}/unix.socket" /var/snap/lxd/common/lxd/unix.socket; do
        if [ -S "$socket" ]; then export MOSAIC_LOCAL_LXD_SOCKET="$socket"; break; fi
    done
fi

export MOSAIC_LISTEN="${MOSAIC_LISTEN:-127.0.0.1:8080}"
export MOSAIC_FRONTEND_DIR="${MOSAIC_FRONTEND_DIR:-$PWD/frontend/dist}"
log "building the web app"
scripts/build-frontend.sh
log "building Mosaic"
cargo build --release --locked -p mosaic-api --bin mosaic
log "starting Mosaic on http://$MOSAIC_LISTEN"
exec target/release/mosaic
