#!/usr/bin/env bash
# Runs schemathesis against a freshly started Mosaic, over every operation of its OpenAPI document.
#
#   scripts/schemathesis.sh        (needs the test environment: scripts/testenv.sh up)
#
# Mosaic runs with a fresh database in the test cluster, and may register LXD hosts only on
# loopback (host_allowlist), so generated URLs never send traffic anywhere else.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[schemathesis] %s\n' "$*"; }
cache="${MOSAIC_CACHE_DIR:-$HOME/.cache/mosaic}"
venv="$cache/venv"
if [ ! -x "$venv/bin/schemathesis" ]; then
    log "installing schemathesis into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'schemathesis>=4,<5'
fi

env_file="$(scripts/testenv.sh env)"
db_url="$(sed -n 's/^MOSAIC_TEST_DATABASE_URL=//p' "$env_file")"
database="mosaic_schemathesis_$$"
psql "$db_url" -qc "CREATE DATABASE $database"
data_dir="$(mktemp -d)"
port=18090
token="mosaic_schemathesis_$(od -An -N16 -tx1 /dev/urandom | tr -d " \n")"

cargo build --locked -q -p mosaic-api --bin mosaic
MOSAIC_LISTEN="127.0.0.1:$port" MOSAIC_DATABASE_URL="${db_url%/*}/$database" MOSAIC_DATA_DIR="$data_dir" \
MOSAIC_ADMIN_TOKEN="$token" MOSAIC_HOST_ALLOWLIST=127.0.0.0/8 MOSAIC_LXD_PROBE_TIMEOUT_SECS=1 MOSAIC_METRICS_LISTEN=127.0.0.1:0 MOSAIC_PHONE_HOME_LISTEN=127.0.0.1:0 \
    target/debug/mosaic >"$data_dir/mosaic.log" 2>&1 &
server=$!
seeded_container=""
lxd_a_dir="$(dirname "$(sed -n 's/^MOSAIC_TEST_LXD_A_SOCKET=//p' "$env_file")")"
lxc_a() { LXD_DIR="$lxd_a_dir" LXD_CONF="$(dirname "$lxd_a_dir")/lxc-cli" lxc "$@"; }
lxd_b_dir="$(dirname "$(sed -n 's/^MOSAIC_TEST_LXD_B_SOCKET=//p' "$env_file")")"
lxc_b() { LXD_DIR="$lxd_b_dir" LXD_CONF="$(dirname "$lxd_b_dir")/lxc-cli" lxc "$@"; }
cleanup() {
    # The server first, so no job of the run creates a container after the sweep.
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    # What the run made on LXD goes: every container of the run's deployments (the seeded ones,
    # and those the hooks made), adopted or not, and the orphans.
    if [ -n "$seeded_container" ]; then
        for deployment in $(psql "${db_url%/*}/$database" -qAtc "SELECT id FROM deployments" 2>/dev/null); do
            for name in $(lxc_a list --format csv -c n "user.mosaic.deployment=$deployment" 2>/dev/null); do
                lxc_a delete --force "$name" 2>/dev/null || true
            done
            # The run registers host B too (hooks.py), so a generated deploy may land there.
            for name in $(lxc_b list --format csv -c n "user.mosaic.deployment=$deployment" 2>/dev/null); do
                lxc_b delete --force "$name" 2>/dev/null || true
            done
        done
        for name in $(lxc_a list --format csv -c n '^st-orphan-' 2>/dev/null) "$seeded_container"; do
            lxc_a delete --force "$name" 2>/dev/null || true
        done
    fi
    psql "$db_url" -qc "DROP DATABASE IF EXISTS $database" || true
    rm -rf "$data_dir"
}
trap cleanup EXIT

log "waiting for Mosaic on port $port"
base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
    curl -sf "$base/api/health" >/dev/null && break
    sleep 0.5
done
api() { curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# Real resources for the operations that act on one (tests/schemathesis/schemathesis.toml names
# them per operation): test host A, a cloud-config, a deployment with one running busybox
# instance on A, and a container carrying the deployment's key that Mosaic does not know (an
# orphan). Without them those operations would only ever answer 404.
log "seeding a host, a cloud-config, a deployment with an instance, and an orphan"
ST_HOST="$(api "$base/api/v1/hosts" -d "{\"name\": \"lxd-a\",
    \"url\": \"$(sed -n 's/^MOSAIC_TEST_LXD_A_URL=//p' "$env_file")\",
    \"fingerprint\": \"$(sed -n 's/^MOSAIC_TEST_LXD_A_FINGERPRINT=//p' "$env_file")\",
    \"trust_password\": \"$(sed -n 's/^MOSAIC_TEST_LXD_TRUST_PASSWORD=//p' "$env_file")\"}" | field "['id']")"
image="$(sed -n 's/^MOSAIC_TEST_IMAGE_BUSYBOX=//p' "$env_file")"
ST_CLOUD_CONFIG="$(api "$base/api/v1/cloud-configs" -d "{\"namespace\": \"Seed\", \"name\": \"Web\",
    \"image\": \"$image\", \"user_data\": \"#cloud-config\\nruncmd: []\\n\"}" | field "['id']")"
ST_DEPLOYMENT="$(api "$base/api/v1/deployments" \
    -d "{\"name\": \"Seed\", \"cloud_configs\": [{\"cloud_config_id\": \"$ST_CLOUD_CONFIG\"}]}" | field "['id']")"
job="$(api "$base/api/v1/deployments/$ST_DEPLOYMENT/deploy" -d "{\"start\": true, \"cloud_configs\":
    [{\"cloud_config_id\": \"$ST_CLOUD_CONFIG\", \"count\": 1, \"hosts\": [\"$ST_HOST\"]}]}" | field "['id']")"
seeded_container="st-orphan-$$"
for _ in $(seq 1 120); do
    state="$(api "$base/api/v1/jobs/$job" | field "['state']")"
    [ "$state" = queued ] || [ "$state" = running ] || break
    sleep 0.5
done
[ "$state" = succeeded ] || { log "the seeding deploy ended $state"; exit 1; }
ST_INSTANCE="$(api "$base/api/v1/instances?deployment_id=$ST_DEPLOYMENT" | field "['items'][0]['id']")"
lxc_a init "$image" "$seeded_container" -c "user.mosaic.deployment=$ST_DEPLOYMENT" \
    -c user.mosaic.managed=true >/dev/null
# A second user for the user operations: changing the run's own admin would lock the run out.
ST_USER="$(api "$base/api/v1/users" -d '{"name": "st-operator", "role": "operator"}' | field "['user']['id']")"
# An instance nothing else acts on, for its cloud-init log: busybox has no cloud-init, so the
# seeding writes the log the endpoint reads (through LXD's file API, like any other).
logs="$(api "$base/api/v1/deployments" \
    -d "{\"name\": \"Logs\", \"cloud_configs\": [{\"cloud_config_id\": \"$ST_CLOUD_CONFIG\"}]}" | field "['id']")"
job="$(api "$base/api/v1/deployments/$logs/deploy" -d "{\"start\": true, \"cloud_configs\":
    [{\"cloud_config_id\": \"$ST_CLOUD_CONFIG\", \"count\": 1, \"hosts\": [\"$ST_HOST\"]}]}" | field "['id']")"
for _ in $(seq 1 120); do
    state="$(api "$base/api/v1/jobs/$job" | field "['state']")"
    [ "$state" = queued ] || [ "$state" = running ] || break
    sleep 0.5
done
[ "$state" = succeeded ] || { log "the seeding deploy of Logs ended $state"; exit 1; }
ST_LOG_INSTANCE="$(api "$base/api/v1/instances?deployment_id=$logs" | field "['items'][0]['id']")"
lxc_a exec "$(api "$base/api/v1/instances/$ST_LOG_INSTANCE" | field "['name']")" -- \
    sh -c 'mkdir -p /var/log && printf "Cloud-init finished (seeded)\n" > /var/log/cloud-init-output.log'
# A deployment for the destructive operations' negative cases to aim at, not the seeded one.
ST_DOOMED="$(api "$base/api/v1/deployments" \
    -d "{\"name\": \"Doomed\", \"cloud_configs\": [{\"cloud_config_id\": \"$ST_CLOUD_CONFIG\"}]}" | field "['id']")"
export ST_DOOMED ST_USER ST_HOST ST_CLOUD_CONFIG ST_DEPLOYMENT ST_INSTANCE ST_LOG_INSTANCE ST_ORPHAN="$seeded_container"
# For tests/schemathesis/hooks.py, which makes fresh resources for the operations that consume
# theirs.
export ST_BASE="$base" ST_TOKEN="$token" ST_IMAGE="$image" \
    ST_LXD_A_URL="$(sed -n 's/^MOSAIC_TEST_LXD_A_URL=//p' "$env_file")" \
    ST_LXD_B_URL="$(sed -n 's/^MOSAIC_TEST_LXD_B_URL=//p' "$env_file")" \
    ST_LXD_B_FINGERPRINT="$(sed -n 's/^MOSAIC_TEST_LXD_B_FINGERPRINT=//p' "$env_file")" \
    ST_TRUST_PASSWORD="$(sed -n 's/^MOSAIC_TEST_LXD_TRUST_PASSWORD=//p' "$env_file")" \
    ST_LXD_DIR="$lxd_a_dir" ST_LXD_CONF="$(dirname "$lxd_a_dir")/lxc-cli" \
    PYTHONPATH="$PWD/tests/schemathesis${PYTHONPATH:+:$PYTHONPATH}" SCHEMATHESIS_HOOKS="${SCHEMATHESIS_HOOKS:-hooks}"
run() {
    "$venv/bin/schemathesis" --config-file tests/schemathesis/schemathesis.toml \
        run "http://127.0.0.1:$port/api/openapi.json" \
        --wait-for-schema 60 \
        -H "Authorization: Bearer $token" \
        --checks all \
        --exclude-operation-id delete_token `# revoking the run's only token would end it` \
        --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" \
        --seed "${SCHEMATHESIS_SEED:-1}" \
        --request-timeout 60 `# deleting a container on a busy machine takes seconds` \
        --workers 2 ${SCHEMATHESIS_EXTRA:-}
}
report="$data_dir/schemathesis.txt"
if run | tee "$report"; then
    exit 0
fi
# A failed check (ST…) fails the run. schemathesis itself sometimes crashes inside its generator
# (an internal error, no check failed): that alone earns one more try.
if grep -q "❌ ST[0-9]" "$report" || ! grep -q "error" "$report"; then
    log "server log:"; tail -50 "$data_dir/mosaic.log"; exit 1
fi
log "schemathesis stopped on an internal error, not a failed check; running it once more"
run
