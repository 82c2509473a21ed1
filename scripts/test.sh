#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, a smoke run of `keyway bench --quick`,
# then every test in the workspace (unit tests, the mock provider's, the storage suite on
# SQLite and PostgreSQL, and the integration tests in tests/all against real components built
# from plugins/ and tests/guests/, including `keyway serve` processes, and browser tests in a
# headless Chromium against a real OpenID Connect provider), then the fuzz corpora
# and a short run of each fuzz target, with schemathesis checking the served API against its
# OpenAPI document in between. Each stage prints how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

suite_start=$SECONDS
stage_name=""
stage_start=$SECONDS
# Ends the current stage (printing its time) and starts the next.
stage() {
  if [ -n "$stage_name" ]; then
    echo "== $stage_name: took $((SECONDS - stage_start)) s"
  fi
  stage_name="$1"
  stage_start=$SECONDS
  [ -z "$1" ] || echo "== $1"
}

stage "setup: the wasm target"
ensure_wasm_target
# PostgreSQL and Chromium (apt), the OIDC provider (npm) and cargo-fuzz (a cargo install) are
# needed only once the tests run: install them in the background while cargo formats, lints and
# builds. The two apt installs run one after the other: concurrent apt-gets fail on dpkg's lock.
setup_log=$(mktemp -d)
( ensure_postgres; ensure_chromium ) >"$setup_log/apt" 2>&1 &
apt_setup=$!
( ensure_oidc_provider ) >"$setup_log/oidc-provider" 2>&1 &
oidc_setup=$!
( ensure_cargo_fuzz ) >"$setup_log/cargo-fuzz" 2>&1 &
fuzz_setup=$!
( ensure_schemathesis ) >"$setup_log/schemathesis" 2>"$setup_log/schemathesis.err" &
schemathesis_setup=$!

stage "cargo fmt --check (the host workspace, then the two guest workspaces and the fuzz one)"
cargo fmt --all -- --check
for guests in plugins tests/guests fuzz; do
  cargo fmt --manifest-path "$guests/Cargo.toml" --all -- --check
done
stage "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
for guests in plugins tests/guests; do
  cargo clippy --locked --manifest-path "$guests/Cargo.toml" --workspace --target wasm32-wasip2 \
    --target-dir target/wasm-guests -- -D warnings
done
cargo clippy --locked --manifest-path fuzz/Cargo.toml --all-targets -- -D warnings
stage "cargo build (the keyway binary the process tests start)"
cargo build --locked -p keyway
# A smoke run of every benchmark row on the debug binary: it checks that the bench still works
# (a row that errors or measures nothing fails the run), never how fast anything is.
stage "keyway bench --quick (the benchmarks still run; no timing is judged)"
bench_json=$(mktemp --suffix=.json)
"${CARGO_TARGET_DIR:-target}/debug/keyway" bench --quick --json "$bench_json"
rm -f "$bench_json"

# The API keeps its contract: every operation, every check, the stateful phase included, on
# a fresh server with seeded data (scripts/schemathesis.sh says how). 100 examples per
# operation take about 40 s.
stage "schemathesis: the served API against its OpenAPI document"
if ! wait "$schemathesis_setup"; then
  cat "$setup_log/schemathesis.err" >&2
  exit 1
fi
SCHEMATHESIS="$(cat "$setup_log/schemathesis")" KEYWAY_BIN="${CARGO_TARGET_DIR:-target}/debug/keyway" \
  scripts/schemathesis.sh 100

stage "setup: waiting for PostgreSQL's and Chromium's installs (apt)"
if ! wait "$apt_setup"; then
  cat "$setup_log/apt" >&2
  exit 1
fi
cat "$setup_log/apt"
stage "setup: waiting for the OIDC provider's install (npm)"
if ! wait "$oidc_setup"; then
  cat "$setup_log/oidc-provider" >&2
  exit 1
fi
cat "$setup_log/oidc-provider"
stage "cargo test"
cargo test --locked --workspace "$@"

# The fuzz workspace (fuzz/, no wasmtime): the committed corpora replayed as ordinary tests,
# then each cargo-fuzz target for 20 s.
stage "fuzz: replay the committed corpora"
cargo test --locked --manifest-path fuzz/Cargo.toml
stage "fuzz: each target for 20 s"
if wait "$fuzz_setup"; then
  cat "$setup_log/cargo-fuzz"
  FUZZ_SANITIZER="${FUZZ_SANITIZER:-none}" scripts/fuzz.sh 20
else
  cat "$setup_log/cargo-fuzz" >&2
  # ensure_cargo_fuzz has already failed the run under CI=true; elsewhere, say what was skipped.
  if [ "${CI:-}" = true ]; then exit 1; fi
  echo "== fuzz: skipped running the targets: cargo-fuzz is not installed (see above)"
fi
stage ""
echo "== the whole suite took $((SECONDS - suite_start)) s"
