#!/usr/bin/env bash
# Generates Mosaic's Python client from the committed OpenAPI document, with a pinned generator.
#
#   scripts/python-client.sh [OUT_DIR]      (default: target/python-client)
#
# Prints the directory to put on PYTHONPATH (it holds the package `mosaic_client`) and the Python
# to run it with (a virtualenv under ~/.cache/mosaic with the client's few dependencies) as two
# lines: `PYTHONPATH=…` and `PYTHON=…`.
set -euo pipefail
cd "$(dirname "$0")/.."

# The generator and the client's runtime dependencies, pinned: the guide's snippet is written
# against what this version generates (module per tag, function per operation id).
generator='openapi-python-client==0.29.1'
runtime=('httpx==0.28.1' 'attrs==25.3.0' 'python-dateutil==2.9.0.post0')

cache="${MOSAIC_CACHE_DIR:-$HOME/.cache/mosaic}"
venv="$cache/python-client-venv"
out="${1:-target/python-client}"
if [ ! -x "$venv/bin/openapi-python-client" ]; then
    printf '[python-client] installing %s into %s\n' "$generator" "$venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "$generator" "${runtime[@]}"
fi
mkdir -p "$out"
config="$(mktemp)"
trap 'rm -f "$config"' EXIT
# No formatter run after generating (the generator would call ruff, which is not installed).
printf 'post_hooks: []\n' >"$config"
rm -rf "$out/mosaic_client"
"$venv/bin/openapi-python-client" generate --path openapi/openapi.json --meta none \
    --output-path "$out/mosaic_client" --config "$config" >&2
printf 'PYTHONPATH=%s\nPYTHON=%s\n' "$(cd "$out" && pwd)" "$venv/bin/python"
