#!/usr/bin/env bash
# Sets up everything Mosaic's tests need on this machine, idempotently, and runs them all.
#
#   scripts/test.sh
#
# On a fresh Debian machine this installs LXD, PostgreSQL, HAProxy, the image tools and Chromium,
# starts two LXD daemons, a two-member LXD cluster and a private PostgreSQL cluster on loopback
# (scripts/testenv.sh), builds and caches the test images under ~/.cache/mosaic, builds the web
# app, then runs formatting and lint checks, every test (unit, integration against the real LXD
# hosts, and the browser walkthrough), and schemathesis against a running server.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test] %s\n' "$*"; }

scripts/testenv.sh up
MOSAIC_TESTENV_FILE="$(scripts/testenv.sh env)"
export MOSAIC_TESTENV_FILE

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v pkill >/dev/null || need+=(procps)
if ((${#need[@]})); then
    log "installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

log "building the web app"
scripts/build-frontend.sh

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --exclude mosaic-frontend --all-targets --locked -- -D warnings
cargo clippy -p mosaic-frontend --target wasm32-unknown-unknown --locked -- -D warnings

log "cargo test"
# The server-restart test runs the real `mosaic` binary as a process and kills it.
cargo build --locked -p mosaic-api --bin mosaic
cargo test --workspace --exclude mosaic-frontend --locked
# The app's pure logic (formatting, parsing) runs natively; the app itself is tested in the browser.
cargo test -p mosaic-frontend --locked

log "schemathesis against a running server"
scripts/schemathesis.sh
