#!/usr/bin/env bash
# Installs what building Keyway needs beyond the Rust toolchain: the wasm32-wasip2 target,
# which the build scripts use to compile plugins/ into components. Sourced by demo.sh and test.sh.
set -euo pipefail

ensure_wasm_target() {
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    return 0
  fi
  echo "setup: installing the wasm32-wasip2 target (plugins are built for it)" >&2
  if ! rustup target add wasm32-wasip2; then
    echo "setup: could not install wasm32-wasip2. Install it with 'rustup target add wasm32-wasip2' and run again." >&2
    exit 1
  fi
}
