#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for SECONDS each (default 300), then prints each
# target's executions and findings. Extra arguments go to libFuzzer (`-jobs=2`, say).
#
# libFuzzer's new corpus entries go to fuzz/target/corpus/<target>, not to the committed seeds
# in fuzz/corpus/<target> (which it reads too), so a run never dirties the checkout. A finding
# is written to fuzz/artifacts/<target>/; to keep it as a regression test, fix the bug, copy
# the file into fuzz/corpus/<target>/ under a name that says what it found, and commit it.
#
# The targets need nightly flags; on the stable toolchain RUSTC_BOOTSTRAP=1 allows them.
# FUZZ_SANITIZER=none builds without AddressSanitizer (faster, catches only panics).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
set +e
ensure_cargo_fuzz || exit 1

seconds="${1:-300}"
shift
export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-address}"
targets=$(cargo fuzz list) || exit 1

echo "== building the fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build -s "$sanitizer" || exit 1

status=0
summary=()
for target in $targets; do
  echo "== fuzz $target for ${seconds}s"
  work="fuzz/target/corpus/$target"
  mkdir -p "$work" "fuzz/artifacts/$target"
  log="fuzz/target/$target.log"
  start=$SECONDS
  cargo fuzz run -s "$sanitizer" "$target" "$work" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  findings=$(grep -E '^(==[0-9]+== *ERROR|thread .* panicked|SUMMARY:|artifact_prefix=|Test unit written to)' "$log" | sort -u)
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "$findings"
    tail -n 30 "$log"
    summary+=("$target: ${runs:-?} executions in $((SECONDS - start))s, FAILED (exit $rc; log $log)")
  else
    summary+=("$target: ${runs:-?} executions in $((SECONDS - start))s, no findings")
  fi
done

echo "== fuzz summary"
printf '%s\n' "${summary[@]}"
exit "$status"
