# shellcheck shell=bash disable=SC2034 # (CLUSTER_FORMED is read by scripts/testenv.sh)
# The test environment's LXD cluster: two more daemons, m1 and m2, forming a real cluster on
# loopback (HTTPS on 127.0.0.1:$MOSAIC_TESTENV_LXD_M1_PORT (18445) and :$..._M2_PORT (18446)),
# one `dir` pool, no network for containers, the test client certificate trusted and the trust
# password set cluster-wide. m1 founds it with `lxd init --preseed`; m2 joins with a token from
# `lxc cluster add m2`. The recipe is /work/shared/docs/LXD.md's "A two-member cluster on one
# machine". Sourced by scripts/testenv.sh after lib.sh and lxd.sh.
#
# m1 is the cluster's only database voter (two members make one voter and a stand-by): with m1
# stopped, m2 cannot answer either. Stop m2 to see a member go offline.

is_clustered() { [[ $(lxc_on "$1" query /1.0/cluster 2>/dev/null | jq -r .enabled) == true ]]; }

# Stop a member and delete its state, to start it over.
reset_member() {
    local d=$1 dir
    dir=$(lxd_dir "$d")
    [[ -d $dir ]] || return 0
    log "lxd-$d: starting this member over"
    stop_lxd "$d"
    unmount_under "$dir"
    rm -rf --one-file-system "$dir"
}

# m1 founds the cluster: storage, the default profile's root disk (and no NIC), its listener,
# the trust password, clustering.
form_cluster() {
    log "lxd-m1: founding the cluster on 127.0.0.1:$(lxd_port m1)"
    lxd_on m1 init --preseed <<EOF_PRESEED
config:
  core.https_address: "127.0.0.1:$(lxd_port m1)"
  core.trust_password: "$TRUST_PASSWORD"
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root: {path: /, pool: default, type: disk}
cluster:
  server_name: m1
  enabled: true
EOF_PRESEED
}

# m2 joins with a fresh token from m1. Its `dir` pool's source is per member (empty: LXD's
# default place under m2's own LXD_DIR).
join_m2() {
    local token
    # A token left by an interrupted join, or m2's record from an earlier life, would refuse
    # the new join.
    if lxc_on m1 query /1.0/cluster/members | jq -e 'any(.[]; endswith("/m2"))' >/dev/null; then
        log "lxd-m1: removing the stale member m2"
        lxc_on m1 cluster remove m2 --force --yes >/dev/null
    fi
    if lxc_on m1 cluster list-tokens --format csv | grep -q '^m2,'; then
        lxc_on m1 cluster revoke-token m2 >/dev/null
    fi
    token=$(lxc_on m1 cluster add m2 | tail -n1)
    log "lxd-m2: joining the cluster on 127.0.0.1:$(lxd_port m2)"
    lxd_on m2 init --preseed <<EOF_PRESEED
cluster:
  enabled: true
  server_name: m2
  server_address: "127.0.0.1:$(lxd_port m2)"
  cluster_address: "127.0.0.1:$(lxd_port m1)"
  cluster_token: "$token"
  member_config:
  - entity: storage-pool
    name: default
    key: source
    value: ""
EOF_PRESEED
}

# Wait (60 s at most) until m1 sees every member online: a member just (re)started counts as
# offline until its heartbeat arrives.
wait_members_online() {
    local offline t0=$SECONDS
    while :; do
        offline=$(lxc_on m1 query '/1.0/cluster/members?recursion=1' |
            jq -r '.[] | select(.status != "Online") | .server_name + " (" + .status + ")"' | paste -sd' ')
        [[ -n $offline ]] || return 0
        ((SECONDS - t0 < 60)) || die "cluster members not online after 60 s: $offline"
        sleep 1
    done
}

# The addresses are fixed when the cluster forms: a port setting changed since cannot apply.
check_member_addresses() {
    local d want have
    for d in "${MEMBERS[@]}"; do
        want=127.0.0.1:$(lxd_port "$d")
        have=$(lxc_on m1 query "/1.0/cluster/members/$d" | jq -r .url)
        [[ $have == "https://$want" ]] ||
            die "cluster member $d is at $have, not https://$want: the cluster was formed with other ports (down --purge to start over)"
    done
}

# The fingerprints of the members' own certificates, which the cluster's trust store lists
# next to clients' (members trust each other through them).
member_cert_fingerprints() {
    local d
    for d in "${MEMBERS[@]}"; do cert_fingerprint "$(lxd_dir "$d")/server.crt"; done
}

# Create, start or repair the cluster; sets CLUSTER_FORMED=1 when any member (re)joined.
CLUSTER_FORMED=0
cluster_up() {
    start_lxd m1
    if ! is_clustered m1; then
        # Founding never finished: nothing in either member is worth keeping.
        reset_member m2
        if lxc_on m1 query /1.0/storage-pools | jq -e 'length > 0' >/dev/null; then
            reset_member m1
            start_lxd m1
        fi
        form_cluster
        CLUSTER_FORMED=1
    fi
    start_lxd m2
    if ! is_clustered m2; then
        if lxc_on m2 query /1.0/storage-pools | jq -e 'length > 0' >/dev/null; then
            reset_member m2
            start_lxd m2
        fi
        join_m2
        CLUSTER_FORMED=1
    fi
    wait_members_online
    check_member_addresses
    # Cluster-wide settings, through m1: the trust password (write-only, so set every time) and
    # a default profile without a NIC.
    lxc_on m1 config set core.trust_password "$TRUST_PASSWORD"
    remove_profile_nics m1
    trust_client_cert m1
    # shellcheck disable=SC2046 # one fingerprint per word
    sweep_trust m1 $(member_cert_fingerprints)
    local d
    for d in "${MEMBERS[@]}"; do check_https "$d"; done
    sweep_instances m1
}

cluster_down() {
    local d
    # m2 first: m1 holds the cluster's database.
    for d in m2 m1; do stop_lxd "$d"; done
}

# The env file's cluster keys.
cluster_env() {
    local d fp urls=() sockets=()
    fp=$(server_fingerprint m1)
    for d in "${MEMBERS[@]}"; do
        [[ $(server_fingerprint "$d") == "$fp" ]] || die "lxd-$d serves another certificate than lxd-m1"
        urls+=("https://127.0.0.1:$(lxd_port "$d")")
        sockets+=("$(lxd_dir "$d")/unix.socket")
    done
    (
        IFS=,
        echo "MOSAIC_TEST_CLUSTER_URLS=${urls[*]}"
        echo "MOSAIC_TEST_CLUSTER_FINGERPRINT=$fp"
        echo "MOSAIC_TEST_CLUSTER_SOCKETS=${sockets[*]}"
        echo "MOSAIC_TEST_CLUSTER_MEMBERS=${MEMBERS[*]}"
    )
}
