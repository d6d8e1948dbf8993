#!/usr/bin/env bash
# Builds and runs Mosaic on this machine: http://127.0.0.1:8080 unless MOSAIC_LISTEN says otherwise.
#
#   scripts/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export MOSAIC_LISTEN="${MOSAIC_LISTEN:-127.0.0.1:8080}"
cargo build --release --locked -p mosaic-api --bin mosaic
exec target/release/mosaic
