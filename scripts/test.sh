#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test in the workspace
# (unit tests, the mock provider's, the storage suite on SQLite and PostgreSQL, and the
# integration tests in tests/all against real components built from plugins/ and
# tests/guests/, including `keyway serve` processes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_wasm_target
ensure_postgres

echo "== cargo fmt --check (the host workspace, then the two guest workspaces)"
cargo fmt --all -- --check
for guests in plugins tests/guests; do
  cargo fmt --manifest-path "$guests/Cargo.toml" --all -- --check
done
echo "== cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
for guests in plugins tests/guests; do
  cargo clippy --locked --manifest-path "$guests/Cargo.toml" --workspace --target wasm32-wasip2 \
    --target-dir target/wasm-guests -- -D warnings
done
echo "== cargo build (the keyway binary the process tests start)"
cargo build --locked -p keyway
echo "== cargo test"
cargo test --locked --workspace "$@"
