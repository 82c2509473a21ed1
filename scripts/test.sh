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

echo "== cargo fmt --check (the host workspace, then the two guest workspaces and the fuzz one)"
cargo fmt --all -- --check
for guests in plugins tests/guests fuzz; do
  cargo fmt --manifest-path "$guests/Cargo.toml" --all -- --check
done
echo "== cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
for guests in plugins tests/guests; do
  cargo clippy --locked --manifest-path "$guests/Cargo.toml" --workspace --target wasm32-wasip2 \
    --target-dir target/wasm-guests -- -D warnings
done
cargo clippy --locked --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
echo "== cargo build (the keyway binary the process tests start)"
cargo build --locked -p keyway
echo "== cargo test"
cargo test --locked --workspace "$@"
# The fuzz workspace (fuzz/, no wasmtime, its own target dir): the committed corpora replayed
# as ordinary tests, then each cargo-fuzz target for 20 s.
started=$SECONDS
echo "== fuzz: replay the committed corpora"
cargo test --locked --manifest-path fuzz/Cargo.toml
echo "== fuzz: replay (took $((SECONDS - started))s)"
if ensure_cargo_fuzz; then
  started=$SECONDS
  FUZZ_SANITIZER="${FUZZ_SANITIZER:-none}" scripts/fuzz.sh 20
  echo "== fuzz: each target for 20s (took $((SECONDS - started))s)"
else
  echo "== fuzz: skipped running the targets: cargo-fuzz is not installed (see above)"
fi
