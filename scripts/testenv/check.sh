#!/usr/bin/env bash
# Smoke tests of the running test environment: real containers from both test images on the
# test daemons and the cluster, and a query on PostgreSQL. `scripts/testenv.sh check` runs them all; `up` runs
# the part that proves a freshly built image.
#
#   scripts/testenv/check.sh                          everything (slow-ish)
#   scripts/testenv/check.sh busybox DAEMON           launch, exec, no NIC, clean stop, delete
#   scripts/testenv/check.sh cloudinit DAEMON done    user-data applies, cloud-init says done
#   scripts/testenv/check.sh cloudinit DAEMON error   a failing runcmd is reported as an error
#   scripts/testenv/check.sh cluster                  busybox launched through m1 runs on m2
set -Eeuo pipefail
# shellcheck source=scripts/testenv/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap 'rc=$?; log "failed (exit $rc) at line $LINENO: $BASH_COMMAND"' ERR

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# Launch a busybox container, exec in it, check it has no NIC, stop it cleanly, delete it.
smoke_busybox() {
    local d=$1 name=t-testenv-busybox t0 out nics launch_ms stop_ms
    lxc_on "$d" delete --force "$name" >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    quiet lxc_on "$d" launch busybox "$name"
    launch_ms=$(ms_since "$t0")
    out=$(lxc_on "$d" exec "$name" -- echo hi)
    [[ $out == hi ]] || die "lxd-$d: busybox exec printed '$out'"
    nics=$(lxc_on "$d" exec "$name" -- ls /sys/class/net | tr '\n' ' ')
    [[ $nics == "lo " ]] || die "lxd-$d: busybox container has interfaces: $nics"
    t0=$(date +%s%N)
    lxc_on "$d" stop "$name" --timeout 30
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

# Launch busybox through m1 onto m2 (the image was imported on m1 only): the cluster places,
# fetches the image across members, runs and stops it.
smoke_cluster() {
    local name=t-testenv-cluster t0 launch_ms location out nics
    lxc_on m1 delete --force "$name" >/dev/null 2>&1 || true
    t0=$(date +%s%N)
    quiet lxc_on m1 launch busybox "$name" --target m2
    launch_ms=$(ms_since "$t0")
    location=$(lxc_on m1 query "/1.0/instances/$name" | jq -r .location)
    [[ $location == m2 ]] || die "cluster: $name asked for on m2 runs on '$location'"
    out=$(lxc_on m1 exec "$name" -- echo hi)
    [[ $out == hi ]] || die "cluster: busybox exec printed '$out'"
    nics=$(lxc_on m1 exec "$name" -- ls /sys/class/net | tr '\n' ' ')
    [[ $nics == "lo " ]] || die "cluster: busybox container has interfaces: $nics"
    lxc_on m1 stop "$name" --timeout 30
    lxc_on m1 delete "$name"
    log "cluster: busybox on m2 ok (launch through m1 ${launch_ms} ms, exec ok, interfaces: ${nics% })"
}

check_all() {
    local d
    [[ -f $ENV_FILE ]] || die "not up (no $ENV_FILE); run: scripts/testenv.sh up"
    for d in "${DAEMONS[@]}"; do
        lxd_running "$d" || die "lxd-$d is not running"
        smoke_busybox "$d"
    done
    smoke_cloudinit a "done"
    smoke_cloudinit b error
    for d in "${MEMBERS[@]}"; do lxd_running "$d" || die "lxd-$d is not running"; done
    smoke_cluster
    "$PG_BIN/psql" "postgres://postgres@127.0.0.1:$PG_PORT/postgres" -XAtc 'select 1' >/dev/null
    log "postgres ok"
    log "check passed in ${SECONDS} s"
}

case ${1:-} in
    "") check_all ;;
    busybox) smoke_busybox "${2:?usage: $0 busybox DAEMON}" ;;
    cloudinit) smoke_cloudinit "${2:?usage: $0 cloudinit DAEMON done|error}" "${3:?usage: $0 cloudinit DAEMON done|error}" ;;
    cluster) smoke_cluster ;;
    *)
        echo "usage: $0 [busybox DAEMON | cloudinit DAEMON done|error | cluster]" >&2
        exit 2
        ;;
esac
