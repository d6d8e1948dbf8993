#!/usr/bin/env bash
# Mosaic integration-test environment: two private LXD daemons ("a" and "b") on loopback, a
# trusted test client certificate, two test images and a private PostgreSQL 15 cluster.
#
#   scripts/testenv.sh up             create/start everything (idempotent; a second run takes seconds)
#   scripts/testenv.sh down [--purge] stop the daemons and PostgreSQL; --purge also deletes the state
#   scripts/testenv.sh env            print the path of the env file the tests read
#   scripts/testenv.sh check          smoke-test both images on the running daemons (slow-ish)
#
# Everything lives in $MOSAIC_TESTENV_DIR (default /var/lib/mosaic-testenv); built image tarballs
# are cached in $MOSAIC_CACHE_DIR/images (default ~/.cache/mosaic/images) and survive --purge.
# Ports: MOSAIC_TESTENV_LXD_A_PORT (18443), MOSAIC_TESTENV_LXD_B_PORT (18444),
# MOSAIC_TESTENV_PG_PORT (55432). Needs root (LXD, debootstrap, chroot).
#
# Ground rules this script keeps: only loopback traffic (plus apt/debootstrap from the Debian
# mirror), and containers never get a network interface.
set -Eeuo pipefail

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_DIR=${MOSAIC_TESTENV_DIR:-/var/lib/mosaic-testenv}
CACHE_DIR=${MOSAIC_CACHE_DIR:-$HOME/.cache/mosaic}/images
ENV_FILE=$STATE_DIR/env
LXD_A_PORT=${MOSAIC_TESTENV_LXD_A_PORT:-18443}
LXD_B_PORT=${MOSAIC_TESTENV_LXD_B_PORT:-18444}
PG_PORT=${MOSAIC_TESTENV_PG_PORT:-55432}
PG_BIN=/usr/lib/postgresql/15/bin
PG_DIR=$STATE_DIR/pg
TRUST_PASSWORD=mosaic-test-trust
CLIENT_CRT=$STATE_DIR/client.crt
CLIENT_KEY=$STATE_DIR/client.key
DAEMONS=(a b)
# Image alias -> tarball extension (the build script picks the compression).
declare -A IMAGE_EXT=([busybox]=tar.gz [debian-cloudinit]=tar.zst)
PACKAGES=(lxd busybox-static debootstrap openssl postgresql-15 curl jq zstd)
# A proxy URL nothing listens on (port 9, "discard"): see start_lxd.
NOWHERE_PROXY=http://127.0.0.1:9

# Keep the lxc CLI's own config (remotes, its client cert) out of $HOME; every lxc/lxd call below
# also sets LXD_DIR explicitly, so a system LXD (socket-activated or not) is never touched.
export LXD_CONF=$STATE_DIR/lxc-cli

log() { echo "[testenv] $*" >&2; }
die() {
    log "ERROR: $*"
    exit 1
}
trap 'rc=$?; log "failed (exit $rc) at line $LINENO: $BASH_COMMAND"' ERR

lxd_dir() { echo "$STATE_DIR/lxd-$1"; }
lxd_port() { if [[ $1 == a ]]; then echo "$LXD_A_PORT"; else echo "$LXD_B_PORT"; fi; }
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
lxd_running() { LXD_DIR=$(lxd_dir "$1") timeout 10 lxc query /1.0 >/dev/null 2>&1; }
cert_fingerprint() { openssl x509 -in "$1" -outform der | sha256sum | cut -d' ' -f1; }

# ---------------------------------------------------------------------------------------------
# Packages

ensure_packages() {
    local missing=() p
    for p in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    ((${#missing[@]})) || return 0
    log "installing ${missing[*]} (apt-get update first)"
    # Lock::Timeout: wait for another apt/dpkg run (e.g. unattended upgrades) instead of failing.
    # policy-rc.d-free on purpose: on a systemd box the system lxd/postgresql services may start;
    # they use other sockets/ports (/var/lib/lxd, 5432) and never conflict with ours.
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
}

# ---------------------------------------------------------------------------------------------
# LXD daemons

start_lxd() {
    local d=$1 dir
    dir=$(lxd_dir "$d")
    if lxd_running "$d"; then
        log "lxd-$d: already running"
        return 0
    fi
    mkdir -p "$dir"
    log "lxd-$d: starting (LXD_DIR=$dir)"
    # Detached from this shell (own session, no inherited stdio) so it outlives `up` and never
    # holds a caller's pipe open (a CI step or `up | tee` would otherwise wait forever).
    # 9>&-: the daemon must not inherit our lock (see take_lock).
    # The proxy variables: LXD fetches instance-type definitions from images.linuxcontainers.org
    # at startup and daily (a DNS lookup + HTTPS off the machine). Pointing its HTTP(S) proxy at
    # a closed loopback port makes that fail at once without leaving loopback; loopback targets
    # (daemon-to-daemon image copies) are never proxied.
    (cd / && LXD_DIR=$dir HTTPS_PROXY=$NOWHERE_PROXY HTTP_PROXY=$NOWHERE_PROXY \
        https_proxy=$NOWHERE_PROXY http_proxy=$NOWHERE_PROXY NO_PROXY=127.0.0.1,localhost,::1 \
        no_proxy=127.0.0.1,localhost,::1 exec setsid nohup lxd --group root --logfile "$dir/lxd.log") \
        </dev/null >>"$dir/lxd.out" 2>&1 9>&- &
    if ! lxd_on "$d" waitready --timeout 60; then
        tail -n 20 "$dir/lxd.log" "$dir/lxd.out" >&2 || true
        die "lxd-$d did not become ready"
    fi
    # The daemon's own pid (for `down` if a clean shutdown hangs).
    # (2>/dev/null: the first lxc call with a new LXD_CONF prints "first time ... lxd init" hints.)
    lxc_on "$d" query /1.0 2>/dev/null | jq -r .environment.server_pid >"$dir/lxd.pid"
}

# Storage, profile, listener and trust password. `lxd init --auto` would create a bridge, so this
# is done by hand, and each step only when it is missing.
configure_lxd() {
    local d=$1 port profile dev
    port=$(lxd_port "$d")
    if ! lxc_on "$d" storage show default >/dev/null 2>&1; then
        log "lxd-$d: creating dir storage pool 'default'"
        lxc_on "$d" storage create default dir >/dev/null
    fi
    profile=$(lxc_on "$d" query /1.0/profiles/default)
    if [[ $(jq -r '.devices.root.type // empty' <<<"$profile") != disk ]]; then
        log "lxd-$d: adding root disk to the default profile"
        lxc_on "$d" profile device add default root disk path=/ pool=default >/dev/null
    fi
    # Containers must never have a NIC: drop any that crept into the profile.
    for dev in $(jq -r '.devices | to_entries[] | select(.value.type == "nic") | .key' <<<"$profile"); do
        log "lxd-$d: removing nic device '$dev' from the default profile"
        lxc_on "$d" profile device remove default "$dev" >/dev/null
    done
    if [[ $(lxc_on "$d" config get core.https_address) != "127.0.0.1:$port" ]]; then
        log "lxd-$d: listening on https://127.0.0.1:$port"
        lxc_on "$d" config set core.https_address "127.0.0.1:$port"
    fi
    # Write-only key (reads back as "true"), so set it every time: cheap and self-healing.
    lxc_on "$d" config set core.trust_password "$TRUST_PASSWORD"
}

# ---------------------------------------------------------------------------------------------
# Client certificate

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

trust_client_cert() {
    local d=$1 fp
    fp=$(cert_fingerprint "$CLIENT_CRT")
    if ! lxc_on "$d" query "/1.0/certificates/$fp" >/dev/null 2>&1; then
        log "lxd-$d: trusting the test client certificate ${fp:0:12}"
        lxc_on "$d" config trust add local: "$CLIENT_CRT" --name mosaic-test-client
    fi
}

# The server fingerprint the tests pin, computed from the certificate file and cross-checked
# against what the daemon itself reports.
server_fingerprint() {
    local d=$1 fp api_fp
    fp=$(cert_fingerprint "$(lxd_dir "$d")/server.crt")
    api_fp=$(lxc_on "$d" query /1.0 | jq -r .environment.certificate_fingerprint)
    [[ $fp == "$api_fp" ]] || die "lxd-$d: server.crt fingerprint $fp != API fingerprint $api_fp"
    echo "$fp"
}

# Prove the HTTPS listener works with the client certificate, pinning the server key.
check_https() {
    local d=$1 dir pin auth
    dir=$(lxd_dir "$d")
    pin=$(openssl x509 -in "$dir/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64)
    # -k only skips CA/hostname checks (the cert is self-signed); the key pin is still enforced.
    auth=$(curl -sS --max-time 10 -k --pinnedpubkey "sha256//$pin" --cert "$CLIENT_CRT" --key "$CLIENT_KEY" \
        "https://127.0.0.1:$(lxd_port "$d")/1.0" | jq -r .metadata.auth)
    [[ $auth == trusted ]] || die "lxd-$d: HTTPS with the client certificate says auth=$auth"
}

# ---------------------------------------------------------------------------------------------
# Images

# Tarball path for an image; its name carries a hash of the build script, so editing the script
# rebuilds the image (and gives CI a natural cache key).
image_tarball() {
    local alias=$1 key
    key=$(sha256sum "$SCRIPTS_DIR/images/$alias.sh" | cut -c1-12)
    echo "$CACHE_DIR/$alias-$key.${IMAGE_EXT[$alias]}"
}

# Build the tarball if the cache lacks it; records the alias in BUILT_IMAGES when it did.
# (Results go through a variable, not the exit status: `set -e` is off inside a function whose
# status is being tested, which would let a failed build slip through.)
BUILT_IMAGES=()
build_image_if_missing() {
    local alias=$1 tarball old
    tarball=$(image_tarball "$alias")
    [[ -s $tarball ]] && return 0
    mkdir -p "$CACHE_DIR"
    log "image $alias: building $tarball"
    local t0=$SECONDS
    bash "$SCRIPTS_DIR/images/$alias.sh" "$tarball"
    sha256sum "$tarball" | cut -d' ' -f1 >"$tarball.sha256"
    log "image $alias: built in $((SECONDS - t0)) s"
    # Drop tarballs of older versions of this image.
    for old in "$CACHE_DIR/$alias"-*."${IMAGE_EXT[$alias]}"; do
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

# Make `alias` on daemon d point at this tarball's image, importing it only when needed.
import_image() {
    local d=$1 alias=$2 tarball fp current
    tarball=$(image_tarball "$alias")
    fp=$(image_fingerprint "$tarball")
    current=$(lxc_on "$d" query "/1.0/images/aliases/$alias" 2>/dev/null | jq -r .target) || current=
    [[ $current == "$fp" ]] && return 0
    if ! lxc_on "$d" query "/1.0/images/$fp" >/dev/null 2>&1; then
        log "lxd-$d: importing image $alias (${fp:0:12})"
        lxc_on "$d" image import "$tarball" --quiet >/dev/null
    fi
    if [[ -n $current ]]; then
        log "lxd-$d: moving alias $alias from ${current:0:12} to ${fp:0:12}"
        lxc_on "$d" image alias delete "$alias"
        lxc_on "$d" image delete "$current" 2>/dev/null || true
    fi
    lxc_on "$d" image alias create "$alias" "$fp"
}

# ---------------------------------------------------------------------------------------------
# Test instances

# Tests name their instances t-*; remove whatever a crashed run left behind.
cleanup_test_instances() {
    local d=$1 names
    # Test containers are named t-*, and every container a test Mosaic made carries
    # user.mosaic.managed: both kinds left by an interrupted run are swept.
    names=$(lxc_on "$d" query '/1.0/instances?recursion=1' |
        jq -r '.[] | select((.name | startswith("t-")) or (.config["user.mosaic.managed"] == "true")) | .name')
    [[ -n $names ]] || return 0
    log "lxd-$d: deleting leftover test instances: $(paste -sd' ' <<<"$names")"
    # A few at a time: LXD slows down (and in reports hangs) with many parallel operations.
    xargs -r -n1 -P4 env LXD_DIR="$(lxd_dir "$d")" lxc delete --force <<<"$names"
}

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# Launch a busybox container, exec in it, check it has no NIC, stop it cleanly, delete it.
smoke_busybox() {
    local d=$1 name=t-testenv-busybox t0 out nics
    lxc_on "$d" delete --force "$name" >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    quiet lxc_on "$d" launch busybox "$name"
    local launch_ms
    launch_ms=$(ms_since "$t0")
    out=$(lxc_on "$d" exec "$name" -- echo hi)
    [[ $out == hi ]] || die "lxd-$d: busybox exec printed '$out'"
    nics=$(lxc_on "$d" exec "$name" -- ls /sys/class/net | tr '\n' ' ')
    [[ $nics == "lo " ]] || die "lxd-$d: busybox container has interfaces: $nics"
    t0=$(date +%s%N)
    lxc_on "$d" stop "$name" --timeout 30
    local stop_ms
    stop_ms=$(ms_since "$t0")
    lxc_on "$d" delete "$name"
    log "lxd-$d: busybox ok (launch ${launch_ms} ms, exec ok, interfaces: ${nics% }, clean stop ${stop_ms} ms)"
}

# Launch the cloud-init image with user-data and report what cloud-init says. With
# expect=done the user-data must apply cleanly; with expect=error a failing runcmd must be
# reported as an error. Prints a short summary.
smoke_cloudinit() {
    local d=$1 expect=$2 name=t-testenv-cloudinit-$2
    local userdata t0 start_ms ci_ms status_json status errors rc=0 systemd iid vol nics
    if [[ $expect == "done" ]]; then
        userdata=$'#cloud-config\nwrite_files:\n  - path: /root/mosaic-smoke\n    content: "written by cloud-init\\n"\nruncmd:\n  - [sh, -c, "echo runcmd-ok > /root/mosaic-runcmd"]\n'
    else
        userdata=$'#cloud-config\nruncmd:\n  - [false]\n'
    fi
    lxc_on "$d" delete --force "$name" >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    quiet lxc_on "$d" init debian-cloudinit "$name" -c user.user-data="$userdata"
    quiet lxc_on "$d" start "$name"
    start_ms=$(ms_since "$t0")
    t0=$(date +%s%N)
    # Exit status: 0 done, 1 error (cloud-init 22.4 in bookworm has no "degraded" exit 2).
    status_json=$(lxc_on "$d" exec "$name" -- timeout 180 cloud-init status --wait --format json) || rc=$?
    ci_ms=$(ms_since "$t0")
    status=$(jq -r .status <<<"$status_json" 2>/dev/null || echo "?")
    errors=$(jq -c .errors <<<"$status_json" 2>/dev/null || echo "?")
    systemd=$(lxc_on "$d" exec "$name" -- timeout 60 systemctl is-system-running --wait 2>/dev/null || true)
    iid=$(lxc_on "$d" exec "$name" -- cat /run/cloud-init/.instance-id 2>/dev/null || echo "?")
    vol=$(lxc_on "$d" config get "$name" volatile.cloud-init.instance-id || true)
    nics=$(lxc_on "$d" exec "$name" -- ls /sys/class/net | tr '\n' ' ')
    log "lxd-$d: cloud-init ($expect case): start ${start_ms} ms, status '$status' (exit $rc) after ${ci_ms} ms, errors $errors"
    log "lxd-$d:   systemd: $systemd; instance-id inside: $iid (volatile.cloud-init.instance-id: ${vol:-<unset>}); interfaces: ${nics% }"
    if [[ $expect == "done" ]]; then
        if [[ $status != "done" || $rc != 0 ]]; then
            lxc_on "$d" exec "$name" -- sh -c 'grep -iE "warn|error|fail" /var/log/cloud-init.log | tail -n 20' >&2 || true
            die "lxd-$d: cloud-init did not finish cleanly: $status_json"
        fi
        [[ $(lxc_on "$d" exec "$name" -- cat /root/mosaic-smoke) == "written by cloud-init" ]] ||
            die "lxd-$d: write_files did not write /root/mosaic-smoke"
        [[ $(lxc_on "$d" exec "$name" -- cat /root/mosaic-runcmd) == "runcmd-ok" ]] ||
            die "lxd-$d: runcmd did not run"
        [[ $systemd == running ]] || die "lxd-$d: systemd in the container is '$systemd', not running"
    elif [[ $status == "done" ]]; then
        log "lxd-$d:   NOTE: a failing runcmd still reports 'done'"
    fi
    # Clean stop: liblxc sends SIGRTMIN+3 instead of SIGPWR when init blocks it (systemd does),
    # which systemd takes as "power off"; units are stopped properly.
    t0=$(date +%s%N)
    lxc_on "$d" stop "$name" --timeout 60
    log "lxd-$d:   clean stop took $(ms_since "$t0") ms"
    lxc_on "$d" delete "$name"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL

start_postgres() {
    local datadir=$PG_DIR/data
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
        # Something answers on the port: make sure it is our cluster, not someone else's.
        local running
        running=$("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -XAtc 'show data_directory' 2>/dev/null) || true
        [[ $running == "$datadir" ]] || die "port $PG_PORT is taken by another PostgreSQL ($running)"
        log "postgres: already running on 127.0.0.1:$PG_PORT"
        return 0
    fi
    # initdb refuses to run as root, and the postgres user must own the directories.
    install -d -o postgres -g postgres -m 0700 "$PG_DIR"
    if [[ ! -f $datadir/PG_VERSION ]]; then
        log "postgres: initdb $datadir"
        runuser -u postgres -- "$PG_BIN/initdb" -D "$datadir" -A trust -U postgres --no-sync -E UTF8 \
            >"$PG_DIR/initdb.log" 2>&1 || {
            cat "$PG_DIR/initdb.log" >&2
            die "initdb failed"
        }
    fi
    log "postgres: starting on 127.0.0.1:$PG_PORT"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$datadir" -l "$PG_DIR/server.log" -w -t 60 \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null 9>&- || {
        tail -n 20 "$PG_DIR/server.log" >&2
        die "PostgreSQL did not start"
    }
}

# Each API test and schemathesis run makes a database of its own; sweep those of earlier runs.
drop_test_databases() {
    local db dropped=0
    while read -r db; do
        [[ -n $db ]] || continue
        "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -XqAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
        dropped=$((dropped + 1))
    done < <("$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -XAtc \
        "SELECT datname FROM pg_database WHERE datname LIKE 'mosaic\_test\_%' OR datname LIKE 'mosaic\_schemathesis\_%'")
    ((dropped == 0)) || log "postgres: dropped $dropped test databases of earlier runs"
}

stop_postgres() {
    local datadir=$PG_DIR/data
    [[ -f $datadir/PG_VERSION ]] || return 0
    if runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
        log "postgres: stopping"
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >/dev/null
    fi
}

# ---------------------------------------------------------------------------------------------
# Env file

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
    } >"$tmp"
    mv -f "$tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------------------------------------
# Commands

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
    ensure_packages
    mkdir -p "$STATE_DIR"
    chmod 0755 "$STATE_DIR" # container roots (uid 100000+) and postgres must traverse it
    ensure_client_cert

    local d alias
    for d in "${DAEMONS[@]}"; do
        start_lxd "$d"
        configure_lxd "$d"
        trust_client_cert "$d"
        check_https "$d"
        cleanup_test_instances "$d"
    done

    for alias in busybox debian-cloudinit; do
        build_image_if_missing "$alias"
        for d in "${DAEMONS[@]}"; do
            import_image "$d" "$alias"
        done
    done
    # A freshly built image gets proven once, right away, so a broken build fails here and not
    # in the middle of the test suite.
    for alias in "${BUILT_IMAGES[@]}"; do
        case $alias in
            busybox) for d in "${DAEMONS[@]}"; do smoke_busybox "$d"; done ;;
            debian-cloudinit) smoke_cloudinit a "done" ;;
        esac
    done

    start_postgres
    drop_test_databases
    write_env_file
    log "up in ${SECONDS} s; env file: $ENV_FILE"
}

cmd_check() {
    [[ -f $ENV_FILE ]] || die "not up (no $ENV_FILE); run: $0 up"
    local d
    for d in "${DAEMONS[@]}"; do
        lxd_running "$d" || die "lxd-$d is not running"
        smoke_busybox "$d"
    done
    smoke_cloudinit a "done"
    smoke_cloudinit b error
    "$PG_BIN/psql" "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -XAtc 'select 1' >/dev/null
    log "postgres ok"
    log "check passed in ${SECONDS} s"
}

# Is pid the lxd we started for this LXD_DIR (and not a reused pid or a zombie)?
is_our_lxd() {
    local pid=$1 dir=$2
    [[ -n $pid ]] && { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qx "LXD_DIR=$dir"
}

stop_lxd() {
    local d=$1 dir pid
    dir=$(lxd_dir "$d")
    pid=$(cat "$dir/lxd.pid" 2>/dev/null || true)
    if lxd_running "$d"; then
        log "lxd-$d: shutting down (stops its instances cleanly)"
        LXD_DIR=$dir timeout 150 lxd shutdown --timeout 120 || log "lxd-$d: clean shutdown failed or hung"
    fi
    # Give it a moment to exit; if it is still there, kill it, but only if it is the process we
    # started for this LXD_DIR. (Instances of a killed daemon may keep running; `lxd` restarts
    # manage them again on the next `up`.)
    for _ in $(seq 50); do is_our_lxd "$pid" "$dir" || break; sleep 0.2; done
    if is_our_lxd "$pid" "$dir"; then
        log "lxd-$d: killing pid $pid"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do is_our_lxd "$pid" "$dir" || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$dir/lxd.pid"
}

# Unmount everything LXD (or an image build) mounted under the state dir, deepest first.
unmount_state() {
    local m
    findmnt -rn -o TARGET | awk -v p="$STATE_DIR/" 'index($0, p) == 1' | sort -r | while read -r m; do
        log "unmounting $m"
        umount "$m" 2>/dev/null || umount -l "$m"
    done
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
    for d in "${DAEMONS[@]}"; do stop_lxd "$d"; done
    stop_postgres
    if ((purge)); then
        unmount_state
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
    check) cmd_check ;;
    *)
        echo "usage: $0 up | down [--purge] | env | check" >&2
        exit 2
        ;;
esac
