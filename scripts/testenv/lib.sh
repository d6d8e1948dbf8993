# shellcheck shell=bash disable=SC2034 # (settings for the scripts that source this file)
# Settings and small helpers shared by scripts/testenv.sh and its parts in scripts/testenv/.
# Sourced, never run. Every setting comes from the environment, so the driver and a part it runs
# always agree on paths and ports.

TESTENV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPTS_DIR=$(dirname "$TESTENV_DIR")
STATE_DIR=${MOSAIC_TESTENV_DIR:-/var/lib/mosaic-testenv}
ENV_FILE=$STATE_DIR/env
LXD_A_PORT=${MOSAIC_TESTENV_LXD_A_PORT:-18443}
LXD_B_PORT=${MOSAIC_TESTENV_LXD_B_PORT:-18444}
LXD_M1_PORT=${MOSAIC_TESTENV_LXD_M1_PORT:-18445}
LXD_M2_PORT=${MOSAIC_TESTENV_LXD_M2_PORT:-18446}
PG_PORT=${MOSAIC_TESTENV_PG_PORT:-55432}
PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR=$STATE_DIR/pg
TRUST_PASSWORD=mosaic-test-trust
CLIENT_CRT=$STATE_DIR/client.crt
CLIENT_KEY=$STATE_DIR/client.key
# The standalone daemons, and the members of the cluster (m1 founded it, m2 joined).
DAEMONS=(a b)
MEMBERS=(m1 m2)
# Leftovers of crashed test runs (t-* and Mosaic-managed containers, trust entries, test
# databases) are swept by `up`, but containers and trust entries only once they are this many
# seconds old: the daemons are shared with test runs that may be going on right now. 0 sweeps
# everything at once.
SWEEP_AGE=${MOSAIC_TESTENV_SWEEP_AGE:-3600}

# Keep the lxc CLI's own config (remotes, its client cert) out of $HOME; every lxc/lxd call
# also sets LXD_DIR explicitly, so a system LXD (socket-activated or not) is never touched.
export LXD_CONF=$STATE_DIR/lxc-cli

log() { echo "[testenv] $*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}

lxd_dir() { echo "$STATE_DIR/lxd-$1"; }
lxd_port() {
    case $1 in
        a) echo "$LXD_A_PORT" ;;
        b) echo "$LXD_B_PORT" ;;
        m1) echo "$LXD_M1_PORT" ;;
        m2) echo "$LXD_M2_PORT" ;;
        *) die "no port for daemon '$1'" ;;
    esac
}
# lxc/lxd against one of our daemons.
lxc_on() {
    local d=$1
    shift
    LXD_DIR=$(lxd_dir "$d") lxc "$@"
}
lxd_on() {
    local d=$1
    shift
    LXD_DIR=$(lxd_dir "$d") lxd "$@"
}
lxd_running() { LXD_DIR=$(lxd_dir "$1") timeout 10 lxc query /1.0 >/dev/null 2>&1; }
cert_fingerprint() { openssl x509 -in "$1" -outform der | sha256sum | cut -d' ' -f1; }
# The certificate a daemon serves over HTTPS: a cluster member serves the cluster's, shared by
# all members; a standalone daemon its own.
served_cert() {
    local dir
    dir=$(lxd_dir "$1")
    if [[ -s $dir/cluster.crt ]]; then echo "$dir/cluster.crt"; else echo "$dir/server.crt"; fi
}

# Run a command quietly, showing its output only if it fails (lxc is chatty on stderr, e.g.
# "The instance you are starting doesn't have any network attached to it", which is the point).
quiet() {
    local out
    out=$("$@" 2>&1) || {
        local rc=$?
        echo "$out" >&2
        return $rc
    }
}
