# shellcheck shell=bash
# The test environment's LXD daemons: start, configure, trust, sweep, stop. Sourced by
# scripts/testenv.sh after lib.sh; each function takes a daemon's name (a, b).

# A proxy URL nothing listens on (port 9, "discard"): see start_lxd.
NOWHERE_PROXY=http://127.0.0.1:9

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

# Containers must never have a NIC: drop any that crept into the default profile.
remove_profile_nics() {
    local d=$1 dev
    for dev in $(lxc_on "$d" query /1.0/profiles/default |
        jq -r '.devices | to_entries[] | select(.value.type == "nic") | .key'); do
        log "lxd-$d: removing nic device '$dev' from the default profile"
        lxc_on "$d" profile device remove default "$dev" >/dev/null
    done
}

# Storage, profile, listener and trust password of a standalone daemon. `lxd init --auto` would
# create a bridge, so this is done by hand, and each step only when it is missing.
configure_lxd() {
    local d=$1 port
    port=$(lxd_port "$d")
    if ! lxc_on "$d" storage show default >/dev/null 2>&1; then
        log "lxd-$d: creating dir storage pool 'default'"
        lxc_on "$d" storage create default dir >/dev/null
    fi
    if [[ $(lxc_on "$d" query /1.0/profiles/default | jq -r '.devices.root.type // empty') != disk ]]; then
        log "lxd-$d: adding root disk to the default profile"
        lxc_on "$d" profile device add default root disk path=/ pool=default >/dev/null
    fi
    remove_profile_nics "$d"
    if [[ $(lxc_on "$d" config get core.https_address) != "127.0.0.1:$port" ]]; then
        log "lxd-$d: listening on https://127.0.0.1:$port"
        lxc_on "$d" config set core.https_address "127.0.0.1:$port"
    fi
    # Write-only key (reads back as "true"), so set it every time: cheap and self-healing.
    lxc_on "$d" config set core.trust_password "$TRUST_PASSWORD"
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
    local d=$1 cert fp api_fp
    cert=$(served_cert "$d")
    fp=$(cert_fingerprint "$cert")
    api_fp=$(lxc_on "$d" query /1.0 | jq -r .environment.certificate_fingerprint)
    [[ $fp == "$api_fp" ]] || die "lxd-$d: ${cert##*/} fingerprint $fp != API fingerprint $api_fp"
    echo "$fp"
}

# Prove the HTTPS listener works with the client certificate, pinning the server key. A member
# that just joined a cluster may take a moment to load the cluster's trust store, so an
# "untrusted" answer is asked again for up to 10 s.
check_https() {
    local d=$1 pin auth t0=$SECONDS
    pin=$(openssl x509 -in "$(served_cert "$d")" -pubkey -noout | openssl pkey -pubin -outform der |
        openssl dgst -sha256 -binary | base64)
    while :; do
        # -k only skips CA/hostname checks (the cert is self-signed); the key pin is still enforced.
        auth=$(curl -sS --max-time 10 -k --pinnedpubkey "sha256//$pin" --cert "$CLIENT_CRT" --key "$CLIENT_KEY" \
            "https://127.0.0.1:$(lxd_port "$d")/1.0" | jq -r .metadata.auth)
        [[ $auth == trusted ]] && return 0
        ((SECONDS - t0 < 10)) || die "lxd-$d: HTTPS with the client certificate says auth=$auth"
        sleep 0.5
    done
}

# Remove the test containers a crashed run left behind: tests name theirs t-*, and every
# container a test Mosaic made carries user.mosaic.managed. Only those older than SWEEP_AGE go;
# younger ones may belong to a test running right now.
sweep_instances() {
    local d=$1 listed names young
    listed=$(lxc_on "$d" query '/1.0/instances?recursion=1' | jq -r --argjson now "$(date +%s)" \
        --argjson age "$SWEEP_AGE" '.[]
            | select((.name | startswith("t-")) or (.config["user.mosaic.managed"] == "true"))
            | (if $now - ((.created_at[0:19] + "Z") | fromdateiso8601) >= $age then "old" else "young" end)
              + " " + .name')
    names=$(sed -n 's/^old //p' <<<"$listed")
    young=$(grep -c '^young ' <<<"$listed" || true)
    ((young == 0)) || log "lxd-$d: keeping $young test instances younger than ${SWEEP_AGE} s (maybe in use)"
    [[ -n $names ]] || return 0
    log "lxd-$d: deleting leftover test instances: $(paste -sd' ' <<<"$names")"
    # A few at a time: LXD slows down (and in reports hangs) with many parallel operations.
    xargs -r -n1 -P4 env LXD_DIR="$(lxd_dir "$d")" lxc delete --force <<<"$names"
}

# Remove trust entries this script did not make: a test registers Mosaic servers on the test
# daemons, and a test that crashes leaves their client certificates trusted. Kept: the test
# client certificate, and any fingerprint given after the daemon's name. LXD does not say when
# an entry was added, so an entry's age counts from the first `up` that saw it
# ($STATE_DIR/trust-seen-$d); only entries older than SWEEP_AGE go.
sweep_trust() {
    local d=$1 now seen_file fp name first removed=() kept=0
    shift
    local -A keep=([$(cert_fingerprint "$CLIENT_CRT")]=1) seen=()
    for fp in "$@"; do keep[$fp]=1; done
    now=$(date +%s)
    seen_file=$STATE_DIR/trust-seen-$d
    if [[ -f $seen_file ]]; then
        while read -r fp first; do [[ -n $fp ]] && seen[$fp]=$first; done <"$seen_file"
    fi
    : >"$seen_file.tmp"
    while read -r fp name; do
        [[ -n $fp && -z ${keep[$fp]:-} ]] || continue
        first=${seen[$fp]:-$now}
        if ((now - first >= SWEEP_AGE)); then
            lxc_on "$d" config trust remove "$fp"
            removed+=("$name (${fp:0:12})")
        else
            echo "$fp $first" >>"$seen_file.tmp"
            kept=$((kept + 1))
        fi
    done < <(lxc_on "$d" query '/1.0/certificates?recursion=1' | jq -r '.[] | .fingerprint + " " + .name')
    mv -f "$seen_file.tmp" "$seen_file"
    ((${#removed[@]} == 0)) || log "lxd-$d: removed leftover trust entries: ${removed[*]}"
    ((kept == 0)) || log "lxd-$d: keeping $kept foreign trust entries first seen less than ${SWEEP_AGE} s ago (maybe in use)"
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

# Unmount everything LXD (or an image build) mounted under a directory, deepest first.
unmount_under() {
    local top=$1 m
    findmnt -rn -o TARGET | awk -v p="$top/" 'index($0, p) == 1' | sort -r | while read -r m; do
        log "unmounting $m"
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}
