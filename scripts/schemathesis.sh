#!/usr/bin/env bash
# The API contract check: schemathesis (PyPI) against a fresh `keyway serve`, with every check
# (`--checks all`) and every phase, the stateful one included.
#
# The server gets its own data directory (the run deletes what it finds), an integration and a
# connection seeded through the API, and a 2 s egress timeout: the seeded site, 127.0.0.2:9, is
# allowed but nothing listens there, so calls to it fail fast with a 502.
#
#   scripts/schemathesis.sh [EXAMPLES]     # examples per operation; default 25
#
# KEYWAY_BIN names the binary (default: target/debug/keyway, built if missing), SCHEMATHESIS_SEED
# fixes the seed (default 1, so a failure reproduces), and SCHEMATHESIS names the executable
# (default: the one ensure_schemathesis installs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

examples="${1:-25}"
seed="${SCHEMATHESIS_SEED:-1}"
bin="${KEYWAY_BIN:-${CARGO_TARGET_DIR:-target}/debug/keyway}"
[ -x "$bin" ] || cargo build --locked -p keyway
st="${SCHEMATHESIS:-$(ensure_schemathesis)}"

work=$(mktemp -d -t keyway-schemathesis-XXXXXX)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

admin_key="kw_$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)"
KEYWAY_ADMIN_KEY="$admin_key" "$bin" serve --data-dir "$work/data" --listen 127.0.0.1:0 \
  --egress-timeout 2s --allow-network 127.0.0.2 --insecure-http-hosts 127.0.0.2 >"$work/serve.log" 2>&1 &
server=$!
base=""
for _ in $(seq 1 300); do
  base=$(sed -n 's/.*keyway is serving listen=\([0-9.:]*\).*/http:\/\/\1/p' "$work/serve.log" | head -1)
  [ -n "$base" ] && break
  if ! kill -0 "$server" 2>/dev/null; then
    cat "$work/serve.log" >&2
    echo "schemathesis: keyway serve exited before it served (its log is above)" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$base" ]; then
  cat "$work/serve.log" >&2
  echo "schemathesis: keyway serve did not start within 30 s (its log is above)" >&2
  exit 1
fi

# POSTs a JSON body and prints the answer's `id`; any non-2xx answer stops the run.
post() {
  curl -sS --fail-with-body -X POST "$base$1" -H "Authorization: Bearer $admin_key" \
    -H 'Content-Type: application/json' -d "$2" | python3 -c 'import json, sys; print(json.load(sys.stdin).get("id", ""))'
}
# Seeds one of each resource the operations need, and a spare of each for the run's deletions
# to hit instead (see hooks.py).
seed_integration() {
  post /api/v1/integrations "{\"name\": \"$1\", \"auth_method\": \"token\", \"site\": \"http://127.0.0.2:9\"}"
}
seed_connection() {
  post "/api/v1/integrations/$1/connections" '{"name": "seeded", "credentials": {"token": "seeded-token"}}'
}
seed_action() {
  post "/api/v1/integrations/$1/actions" "{\"name\": \"$2\", \"description\": \"one call to the seeded site\",
    \"steps\": [{\"name\": \"lookup\", \"method\": \"GET\", \"path\": \"/lookup\"}]}" >/dev/null
}
integration=$(seed_integration seeded)
connection=$(seed_connection "$integration")
seed_action "$integration" seeded-lookup
seed_action "$integration" spare-lookup
spare_integration=$(seed_integration spare)
spare_connection=$(seed_connection "$integration")
oauth=$(post /api/v1/integrations '{"name": "seeded-oauth2", "client_id": "seeded-client", "client_secret": "seeded-secret",
  "site": "http://127.0.0.2:9", "authorization_url": "http://127.0.0.2:9/authorize", "token_path": "/token", "scopes": ["read"]}')
post "/api/v1/integrations/$oauth/connections" '{"name": "seeded-pending"}' >/dev/null
admin_key_id=$(curl -sS --fail-with-body "$base/api/v1/keys" -H "Authorization: Bearer $admin_key" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')
spare_key_id=$(post /api/v1/keys '{"role": "admin", "name": "spare"}')
echo "schemathesis: seeded integration $integration, connection $connection and action seeded-lookup on $base"

export KEYWAY_ST_INTEGRATION="$integration" KEYWAY_ST_CONNECTION="$connection" KEYWAY_ST_ACTION=seeded-lookup
export KEYWAY_ST_SPARES="$admin_key_id=$spare_key_id,$integration=$spare_integration,$connection=$spare_connection,seeded-lookup=spare-lookup"
export SCHEMATHESIS_HOOKS=hooks
status=0
PYTHONPATH="$PWD/scripts/schemathesis" "$st" --config-file scripts/schemathesis/schemathesis.toml run \
  "$base/api/v1/openapi.json" --checks all --phases examples,coverage,fuzzing,stateful \
  --max-examples "$examples" --seed "$seed" --workers 1 --request-timeout 10 \
  -H "Authorization: Bearer $admin_key" --report ndjson --report-dir "${SCHEMATHESIS_REPORT_DIR:-$work/report}" | tee "$work/run.txt" || status=$?

# The summary must show the stateful phase tested scenarios, not merely that it was enabled.
scenarios=$(sed -n 's/^ *Scenarios: *\([0-9]*\).*/\1/p' "$work/run.txt" | head -1)
if [ "${scenarios:-0}" -eq 0 ]; then
  echo "schemathesis: the stateful phase tested no scenario" >&2
  status=1
fi
if ! kill -0 "$server" 2>/dev/null; then
  tail -50 "$work/serve.log" >&2
  echo "schemathesis: keyway serve died during the run (its log's tail is above)" >&2
  status=1
fi
if [ "$status" -ne 0 ]; then
  echo "schemathesis: the API does not keep its contract (see above); reproduce with SCHEMATHESIS_SEED=$seed scripts/schemathesis.sh $examples" >&2
fi
exit "$status"
