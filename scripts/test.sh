#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test in the workspace
# (unit tests, the mock provider's, and the integration tests in tests/all against real
# components built from plugins/ and tests/guests/).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
ensure_wasm_target

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --locked --workspace "$@"
