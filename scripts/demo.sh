#!/usr/bin/env bash
# The main job on the embedded default: a full connection and a custom action against the strict mock provider.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_wasm_target
exec cargo run --quiet --locked -p keyway -- demo "$@"
