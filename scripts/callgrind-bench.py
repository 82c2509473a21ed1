#!/usr/bin/env python3
"""Counts what one call costs on each side of the bench's interleaved rows, under callgrind.

Timed runs on a shared VM differ by ±20% from run to run; instruction counts and simulated
cache misses do not. This runs `keyway bench` under `valgrind --tool=callgrind`, which writes
one profile per timed segment (the bench marks each one, see host/src/bench/marker.rs), then
divides each side's profiles by the calls it completed in them.

    scripts/callgrind-bench.py [--binary target/release/keyway] [--only request] [--out DIR]

Build the release binary first (`cargo build --release -p keyway`). A run takes about six
minutes: three compile the bench's plugins under valgrind, and the rest runs the rows with
4-second segments (`--segment-ms`), since everything runs about 50 times slower under
valgrind and a segment needs some hundreds of calls. Figures compare between builds only at
the same --l2; see the README's "Counted, not timed: callgrind".
"""

import argparse
import json
import pathlib
import shutil
import subprocess
import sys

# The events callgrind's cache simulation counts, in the order of its `events:` line.
EVENTS = ["Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw"]


def l2_bytes():
    """The size of this CPU's L2, from sysfs; 1 MiB where it cannot be read."""
    try:
        text = pathlib.Path("/sys/devices/system/cpu/cpu0/cache/index2/size").read_text().strip()
        return int(text[:-1]) * 1024 if text.endswith("K") else int(text)
    except (OSError, ValueError):
        return 1 << 20


def totals(profile):
    """A callgrind profile's `summary:` counts, by event name."""
    events = None
    for line in profile.read_text().splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("summary:"):
            if events is None:
                sys.exit(f"{profile}: a `summary:` line before any `events:` line; is this a callgrind profile?")
            return dict(zip(events, map(int, line.split()[1:])))
    sys.exit(f"{profile}: no `summary:` line; was the run cut short?")


def per_call(out, segments):
    """One side's counts per call over its segments' profiles, and its call count."""
    calls = sum(s["calls"] for s in segments)
    summed = dict.fromkeys(EVENTS, 0)
    for segment in segments:
        profile = out / f"callgrind.out.{segment['profile']}"
        if not profile.exists():
            sys.exit(f"{profile} is missing: valgrind wrote no profile for that segment's mark")
        for event, count in totals(profile).items():
            summed[event] = summed.get(event, 0) + count
    return {e: summed.get(e, 0) / max(calls, 1) for e in EVENTS}, calls


def report(bench_json, out):
    """Prints one line per side of every row whose samples name their segments."""
    rows = json.loads(bench_json.read_text())["rows"]
    header = f"{'row':<34} {'side':<9} {'calls':>6} {'instr':>9} {'L1i miss':>9} {'L2 miss':>8} {'reads':>8} {'writes':>8}"
    print(header)
    found = False
    for row in rows:
        details = row.get("details") or {}
        sides = {side: (details.get(side) or {}).get("segments") for side in ("keyway", "baseline")}
        if not all(sides.values()):
            continue
        found = True
        counted = {}
        for side, segments in sides.items():
            counts, calls = per_call(out, segments)
            counted[side] = counts
            l2 = counts["ILmr"] + counts["DLmr"] + counts["DLmw"]
            print(
                f"{row['id']:<34} {side:<9} {calls:>6} {counts['Ir']:>9.0f} {counts['I1mr']:>9.0f} "
                f"{l2:>8.0f} {counts['Dr']:>8.0f} {counts['Dw']:>8.0f}"
            )
        ratio = counted["keyway"]["Ir"] / max(counted["baseline"]["Ir"], 1)
        print(f"{'':<34} {'ratio':<9} {'':>6} {ratio:>8.2f}x")
    if not found:
        sys.exit(f"{bench_json}: no row names its segments; run an interleaved benchmark (--only request)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/release/keyway", help="the keyway binary to count")
    parser.add_argument("--only", default="request", help="the benchmarks to run, as for `keyway bench --only`")
    parser.add_argument("--out", default="target/callgrind", help="where the profiles and the bench's JSON go")
    parser.add_argument("--l2", type=int, default=l2_bytes(), help="the simulated L2's size in bytes (default: this CPU's)")
    parser.add_argument(
        "--segment-ms", type=int, default=4000,
        help="each timed segment's length, passed to `keyway bench --segment-ms` (default 4000)",
    )
    parser.add_argument("--report-only", action="store_true", help="summarise the profiles already in --out")
    args = parser.parse_args()

    out = pathlib.Path(args.out)
    bench_json = out / "bench.json"
    if not args.report_only:
        if shutil.which("valgrind") is None:
            sys.exit("valgrind is not installed: `apt-get install valgrind`")
        if not pathlib.Path(args.binary).is_file():
            sys.exit(f"{args.binary} does not exist: build it with `cargo build --release -p keyway`, or pass --binary")
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("callgrind.out.*"):
            old.unlink()
        command = [
            "valgrind", "--tool=callgrind", "--cache-sim=yes",
            "--I1=32768,8,64", "--D1=32768,8,64", f"--LL={args.l2},8,64",
            "--dump-before=keyway_bench_mark", f"--callgrind-out-file={out}/callgrind.out",
            args.binary, "bench", "--only", args.only, "--segment-ms", str(args.segment_ms), "--json", str(bench_json),
        ]
        print("running:", " ".join(command), file=sys.stderr)
        with open(out / "valgrind.log", "w") as log:
            if subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode != 0:
                sys.exit(f"the bench failed under valgrind; see {out / 'valgrind.log'}")
    report(bench_json, out)


if __name__ == "__main__":
    main()
