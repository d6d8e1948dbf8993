#!/usr/bin/env bash
# Sets up everything Mosaic's tests need on this machine, idempotently, and runs them all.
#
#   scripts/test.sh
#
# On a fresh Debian machine this installs LXD, PostgreSQL and the image tools, starts two LXD
# daemons and a private PostgreSQL cluster on loopback (scripts/testenv.sh), builds and caches the
# test images under ~/.cache/mosaic, then runs formatting and lint checks and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[test] %s\n' "$*"; }

scripts/testenv.sh up
MOSAIC_TESTENV_FILE="$(scripts/testenv.sh env)"
export MOSAIC_TESTENV_FILE

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test"
# The server-restart test runs the real `mosaic` binary as a process and kills it.
cargo build --locked -p mosaic-api --bin mosaic
cargo test --workspace --locked

log "schemathesis against a running server"
scripts/schemathesis.sh
