#!/usr/bin/env bash
# Builds the single-page app into frontend/dist (served by the Mosaic server at /).
#
#   scripts/build-frontend.sh
#
# Installs what it needs if missing: the wasm32 target, wasm-bindgen-cli at exactly the version
# Cargo.lock pins, and wasm-opt from npm's binaryen (Debian's binaryen cannot read Rust 1.95's wasm).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[frontend] %s\n' "$*"; }
cache="${MOSAIC_CACHE_DIR:-$HOME/.cache/mosaic}"

rustup target list --installed | grep -qx wasm32-unknown-unknown || {
    log "adding the wasm32 target"
    rustup target add wasm32-unknown-unknown
}
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$want" ]]; then
    log "installing wasm-bindgen-cli $want (takes a few minutes, once)"
    # Not --locked: its lock file pins a crate version the registry no longer has.
    cargo install -q wasm-bindgen-cli --version "$want"
fi
wasm_opt="$cache/node/node_modules/.bin/wasm-opt"
if [[ ! -x "$wasm_opt" ]] && command -v npm >/dev/null; then
    log "installing binaryen (wasm-opt) from npm"
    mkdir -p "$cache/node"
    npm install --silent --prefix "$cache/node" binaryen@132 >/dev/null 2>&1 || log "binaryen unavailable; the app ships without wasm-opt"
fi

log "building the app (wasm32, release-small)"
cargo build --locked -q -p mosaic-frontend --target wasm32-unknown-unknown --profile release-small
# Where cargo put it: cargo itself answers, so CARGO_TARGET_DIR (a relative one from the repository
# root, where this runs) and a build.target-dir in a cargo config are honoured alike.
target_dir=$(cargo metadata --no-deps --format-version 1 | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
wasm="$target_dir/wasm32-unknown-unknown/release-small/mosaic-frontend.wasm"
[[ -f "$wasm" ]] || { log "the build left no $wasm"; exit 1; }
out=frontend/dist
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
wasm-bindgen --target web --no-typescript --out-name mosaic_frontend --out-dir "$out.tmp" "$wasm"
if [[ -x "$wasm_opt" ]]; then
    "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        "$out.tmp/mosaic_frontend_bg.wasm" -o "$out.tmp/mosaic_frontend_bg.wasm.opt"
    mv "$out.tmp/mosaic_frontend_bg.wasm.opt" "$out.tmp/mosaic_frontend_bg.wasm"
fi
cp frontend/index.html frontend/style.css "$out.tmp/"
rm -rf "$out" && mv "$out.tmp" "$out"
raw=$(( $(stat -c %s "$out/mosaic_frontend_bg.wasm") + $(stat -c %s "$out/mosaic_frontend.js") ))
gz=$(( $(gzip -9c "$out/mosaic_frontend_bg.wasm" | wc -c) + $(gzip -9c "$out/mosaic_frontend.js" | wc -c) ))
log "built $out: wasm+js $((raw / 1024)) KiB raw, $((gz / 1024)) KiB gzip"
