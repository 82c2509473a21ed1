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

# The browser tests drive a headless Chromium through chromedriver (keyway_tests::browser); Debian
# packages both. Run it after ensure_postgres, never beside it: two apt-gets fight over dpkg's lock.
ensure_chromium() {
  if [ -x /usr/bin/chromium ] && { command -v chromedriver >/dev/null || [ -x /usr/bin/chromedriver ]; }; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Chromium (Debian packages 'chromium' and 'chromium-driver') for the browser tests" >&2
    if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; then
      return 0
    fi
    echo "setup: apt-get could not install them (see above)." >&2
  fi
  echo "setup: Chromium is not installed: install the 'chromium' and 'chromium-driver' packages" >&2
  echo "       (/usr/bin/chromium and chromedriver); until then the browser tests are skipped." >&2
  if [ "${CI:-}" = true ]; then exit 1; fi
}

# The browser tests' OpenID Connect provider (tests/oidc-provider, keyway_tests::oidc): npm's
# oidc-provider and the Node 22 it runs on (npm's `node` package, whose install script fetches
# the binary), both pinned by its package-lock.json. Any npm will do; the machine's node may be
# too old for oidc-provider itself.
ensure_oidc_provider() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/oidc-provider"
  if [ -x "$dir/node_modules/node/bin/node" ] && [ -d "$dir/node_modules/oidc-provider" ]; then
    return 0
  fi
  if command -v npm >/dev/null; then
    echo "setup: installing the OIDC provider (npm ci in tests/oidc-provider) for the browser tests" >&2
    if npm ci --prefix "$dir" --no-audit --no-fund; then
      return 0
    fi
    # A half-installed provider would fail the tests instead of skipping them.
    rm -rf "$dir/node_modules"
    echo "setup: 'npm ci --prefix tests/oidc-provider' failed (see above), so the OIDC provider is not installed;" >&2
  else
    echo "setup: npm is not installed, so the OIDC provider in tests/oidc-provider cannot be;" >&2
  fi
  echo "       until it is, the browser tests that need it are skipped." >&2
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
