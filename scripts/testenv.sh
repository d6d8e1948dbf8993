#!/usr/bin/env bash
# Mosaic integration-test environment: two private LXD daemons ("a" and "b") and a two-member
# LXD cluster ("m1", "m2") on loopback, a trusted test client certificate, two test images, a
# private PostgreSQL 15 cluster, and Debian's HAProxy installed (its own service kept off; tests
# start their own).
#
#   scripts/testenv.sh up             create/start everything (idempotent; a second run takes seconds)
#   scripts/testenv.sh down [--purge] stop the four daemons and PostgreSQL; --purge also deletes the state
#   scripts/testenv.sh env            print the path of the env file the tests read
#   scripts/testenv.sh check          smoke-test both images on the running daemons (slow-ish)
#
# Everything lives in $MOSAIC_TESTENV_DIR (default /var/lib/mosaic-testenv); built image tarballs
# are cached in $MOSAIC_CACHE_DIR/images (default ~/.cache/mosaic/images) and survive --purge.
# Ports: MOSAIC_TESTENV_LXD_A_PORT (18443), MOSAIC_TESTENV_LXD_B_PORT (18444),
# MOSAIC_TESTENV_LXD_M1_PORT (18445), MOSAIC_TESTENV_LXD_M2_PORT (18446), MOSAIC_TESTENV_PG_PORT
# (55432). Needs root (LXD, debootstrap, chroot).
#
# `up` also sweeps what crashed test runs left: t-* and Mosaic-managed containers, trust entries
# it did not make (a test's Mosaic registers itself on the daemons), and test databases. The
# daemons and PostgreSQL are shared with runs that may be going on, so a database stays while
# someone is connected to it, and containers and trust entries stay until they are
# MOSAIC_TESTENV_SWEEP_AGE seconds old (3600; 0 sweeps them at once).
#
# The parts: scripts/testenv/lxd.sh (the LXD daemons), scripts/testenv/cluster.sh (m1 and m2),
# scripts/testenv/postgres.sh,
# scripts/testenv/check.sh (smoke tests), scripts/images/ (image builds, via scripts/lib/images.sh).
#
# Ground rules this script keeps: only loopback traffic (plus apt/debootstrap from the Debian
# mirror), and containers never get a network interface.
set -Eeuo pipefail

# shellcheck source=scripts/testenv/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/testenv/lib.sh"
# shellcheck source=scripts/testenv/lxd.sh
source "$TESTENV_DIR/lxd.sh"
# shellcheck source=scripts/testenv/cluster.sh
source "$TESTENV_DIR/cluster.sh"
# shellcheck source=scripts/lib/apt.sh
source "$SCRIPTS_DIR/lib/apt.sh"
# shellcheck source=scripts/lib/images.sh
source "$SCRIPTS_DIR/lib/images.sh"
trap 'rc=$?; log "failed (exit $rc) at line $LINENO: $BASH_COMMAND"' ERR

# policy-rc.d-free on purpose: on a systemd box the system lxd/postgresql services may start;
# they use other sockets/ports (/var/lib/lxd, 5432) and never conflict with ours. HAProxy's
# does not start (see cmd_up): the tests run Mosaic's own HAProxy processes.
PACKAGES=(lxd busybox-static debootstrap openssl postgresql-15 curl jq zstd haproxy)

ensure_client_cert() {
    if [[ -s $CLIENT_CRT && -s $CLIENT_KEY ]] && openssl x509 -checkend 2592000 -noout -in "$CLIENT_CRT" >/dev/null; then
        return 0
    fi
    log "generating test client certificate $CLIENT_CRT (EC P-384, 10 years)"
    (
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -sha384 -nodes -days 3650 \
            -subj "/CN=mosaic-test-client" \
            -addext "basicConstraints=critical,CA:FALSE" \
            -addext "keyUsage=critical,digitalSignature" \
            -addext "extendedKeyUsage=clientAuth" \
            -keyout "$CLIENT_KEY.tmp" -out "$CLIENT_CRT.tmp" 2>/dev/null
    )
    chmod 0600 "$CLIENT_KEY.tmp"
    chmod 0644 "$CLIENT_CRT.tmp"
    mv -f "$CLIENT_KEY.tmp" "$CLIENT_KEY"
    mv -f "$CLIENT_CRT.tmp" "$CLIENT_CRT"
}

# The file the test kit (tests/support) reads: keep its keys stable.
write_env_file() {
    local tmp=$ENV_FILE.tmp d D
    {
        for d in "${DAEMONS[@]}"; do
            D=${d^^}
            echo "MOSAIC_TEST_LXD_${D}_URL=https://127.0.0.1:$(lxd_port "$d")"
            echo "MOSAIC_TEST_LXD_${D}_SOCKET=$(lxd_dir "$d")/unix.socket"
            echo "MOSAIC_TEST_LXD_${D}_FINGERPRINT=$(server_fingerprint "$d")"
        done
        echo "MOSAIC_TEST_LXD_TRUST_PASSWORD=$TRUST_PASSWORD"
        echo "MOSAIC_TEST_CLIENT_CERT=$CLIENT_CRT"
        echo "MOSAIC_TEST_CLIENT_KEY=$CLIENT_KEY"
        echo "MOSAIC_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres"
        echo "MOSAIC_TEST_IMAGE_BUSYBOX=busybox"
        echo "MOSAIC_TEST_IMAGE_CLOUDINIT=debian-cloudinit"
        cluster_env
    } >"$tmp"
    mv -f "$tmp" "$ENV_FILE"
}

# Only one up/down at a time (a CI job and a developer, or two test runners). Fd 9 holds the
# lock; daemons we start close it, or they would hold it forever.
take_lock() {
    mkdir -p "$(dirname "$STATE_DIR")"
    exec 9>"$STATE_DIR.lock"
    if ! flock -n 9; then
        log "waiting for another testenv.sh (lock $STATE_DIR.lock)"
        flock -w 600 9 || die "timed out waiting for the lock $STATE_DIR.lock"
    fi
}

cmd_up() {
    [[ $(id -u) == 0 ]] || die "must run as root"
    take_lock
    ensure_packages "${PACKAGES[@]}"
    distro_service_off haproxy
    mkdir -p "$STATE_DIR"
    chmod 0755 "$STATE_DIR" # container roots (uid 100000+) and postgres must traverse it
    ensure_client_cert

    local d alias
    for d in "${DAEMONS[@]}"; do
        start_lxd "$d"
        configure_lxd "$d"
        trust_client_cert "$d"
        sweep_trust "$d"
        check_https "$d"
        sweep_instances "$d"
    done
    local t0=$SECONDS
    cluster_up
    log "cluster: up in $((SECONDS - t0)) s"

    # Images: once per standalone daemon, once for the whole cluster.
    for alias in "${IMAGE_ALIASES[@]}"; do
        build_image_if_missing "$alias"
        for d in "${DAEMONS[@]}" m1; do
            import_image "$(lxd_dir "$d")" "$alias" "lxd-$d"
        done
    done
    # A freshly built image or a freshly formed cluster gets proven once, right away, so a
    # broken build fails here and not in the middle of the test suite.
    for alias in "${BUILT_IMAGES[@]}"; do
        case $alias in
            busybox) for d in "${DAEMONS[@]}"; do "$TESTENV_DIR/check.sh" busybox "$d"; done ;;
            debian-cloudinit) "$TESTENV_DIR/check.sh" cloudinit a "done" ;;
        esac
    done
    if ((CLUSTER_FORMED)) || [[ " ${BUILT_IMAGES[*]} " == *" busybox "* ]]; then
        "$TESTENV_DIR/check.sh" cluster
    fi

    "$TESTENV_DIR/postgres.sh" up
    write_env_file
    log "up in ${SECONDS} s; env file: $ENV_FILE"
}

cmd_down() {
    local purge=0
    case ${1:-} in
        --purge) purge=1 ;;
        "") ;;
        *) die "usage: $0 down [--purge]" ;;
    esac
    [[ $(id -u) == 0 ]] || die "must run as root"
    take_lock
    local d
    cluster_down
    for d in "${DAEMONS[@]}"; do stop_lxd "$d"; done
    "$TESTENV_DIR/postgres.sh" down
    if ((purge)); then
        unmount_under "$STATE_DIR"
        log "removing $STATE_DIR"
        rm -rf --one-file-system "$STATE_DIR"
    fi
    log "down in ${SECONDS} s"
}

case ${1:-} in
    up) cmd_up ;;
    down)
        shift
        cmd_down "$@"
        ;;
    env)
        [[ -f $ENV_FILE ]] || die "no env file at $ENV_FILE; run: $0 up"
        echo "$ENV_FILE"
        ;;
    check) "$TESTENV_DIR/check.sh" ;;
    *)
        echo "usage: $0 up | down [--purge] | env | check" >&2
        exit 2
        ;;
esac
