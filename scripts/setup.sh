#!/usr/bin/env bash
# What building and testing Keyway needs beyond the Rust toolchain. Sourced by demo.sh and test.sh.
set -euo pipefail

# The build compiles plugins/ into components for wasm32-wasip2.
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

# The storage and service tests run against a throwaway PostgreSQL cluster, started by the
# tests themselves with initdb; this installs the server binaries when they are missing.
ensure_postgres() {
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing PostgreSQL (Debian package 'postgresql') for the storage tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    return 0
  fi
  echo "setup: PostgreSQL is not installed: install the 'postgresql' package, or point" >&2
  echo "       KEYWAY_TEST_DATABASE_URL at a server the tests may create databases on." >&2
  if [ "${CI:-}" = true ]; then exit 1; fi
}

# The fuzz stage runs the cargo-fuzz targets in fuzz/ for a few seconds each. In CI a failed
# install fails the run; elsewhere the caller skips the fuzz runs, saying why.
ensure_cargo_fuzz() {
  if command -v cargo-fuzz >/dev/null; then
    return 0
  fi
  echo "setup: installing cargo-fuzz (the fuzz targets in fuzz/ run with it)" >&2
  if cargo install cargo-fuzz --locked; then
    return 0
  fi
  echo "setup: could not install cargo-fuzz. Install it with 'cargo install cargo-fuzz --locked' and run again." >&2
  if [ "${CI:-}" = true ]; then exit 1; fi
  return 1
}

# The API contract check (scripts/schemathesis.sh) runs schemathesis from PyPI, pinned, in its
# own virtualenv under the user's cache. Prints the executable's path.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/keyway/schemathesis-$SCHEMATHESIS_VERSION"
  if [ -x "$venv/bin/schemathesis" ]; then
    echo "$venv/bin/schemathesis"
    return 0
  fi
  echo "setup: installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $venv for the API contract check" >&2
  if python3 -m venv "$venv" >&2 && "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" >&2; then
    echo "$venv/bin/schemathesis"
    return 0
  fi
  rm -rf "$venv"
  echo "setup: could not install schemathesis. Install it with 'pip install schemathesis==$SCHEMATHESIS_VERSION' and set SCHEMATHESIS to its path." >&2
  exit 1
}
