#!/usr/bin/env python3
"""Timing accuracy of the harness on the host.

Usage: python3 bench/timing_accuracy.py --build BUILD_DIR [--rounds N]   (default 5)

(a) A calibrated busy loop of 5 us, 50 us and 5 ms measured through the harness
    (BUILD_DIR/bench/timing_accuracy): the harness's median within 2% of the loop's known
    duration, timed bare side by side the way the harness times it (median of 11 repetitions
    of 0.05 s of calls back to back).
(b) A 64 KiB and a 64 MiB all-reduce on 2 ranks, run with and without one rank arriving 2 ms
    late at every timed sample (--fault ar:1:late=2ms), one run of each per round: busbw with
    the fault within 5% of busbw without it (the median over rounds of each round's ratio of
    the two runs' medians: the run-to-run swing of a small all-reduce on a shared machine is
    far above 5%, and a round's two runs see the same machine), and the record names rank 1 as
    arriving about 2 ms late in every run.
Exits 1 when a target is missed.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

MPIEXEC = "mpiexec.mpich"
SUITE = """name: timing-accuracy
platform: host
defaults: {repetitions: 7, min_time: 0.2s, deadline: 300s}
checks:
  - id: ar
    kind: allreduce
    scope: node
    params: {sizes: [64KiB, 64MiB]}
"""
SIZES = (64 << 10, 64 << 20)


def run(cmd):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if p.returncode != 0:
        sys.exit(f"timing_accuracy: {' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


def allreduce(build, suite, fault):
    """busbw records of one run, by size: (median, best repetition, arrival)."""
    with tempfile.TemporaryDirectory() as out:
        args = [MPIEXEC, "-n", 2, Path(build) / "rackqual", "run", suite, "--backend", "host", "--out", out]
        run(args + (["--fault", "ar:1:late=2ms"] if fault else []))
        figures = {}
        for path in Path(out).glob("*/records.jsonl"):
            for line in path.read_text().splitlines():
                r = json.loads(line)
                if r["metric"] == "busbw_gbps":
                    if not r["correct"]["ok"]:
                        sys.exit(f"timing_accuracy: wrong all-reduce result: {r['correct']}")
                    figures[r["params"]["sizes"][0]] = (r["stats"]["median"], r["stats"]["max"], r["arrival"])
        return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    ok = True

    print("(a) busy loop of known duration through the harness")
    busy = subprocess.run([str(Path(args.build) / "bench" / "timing_accuracy"), str(args.rounds)], capture_output=True,
                          text=True)
    for line in busy.stdout.splitlines():
        figure = json.loads(line)
        ok = ok and figure["within_2pct"]
        print(f"  {figure['duration_us']:>7g} us loop: known {figure['known_us']:.3f} us, harness "
              f"{figure['harness_us']:.3f} us -> ratio {figure['ratio']:.4f}")

    print("(b) all-reduce on 2 ranks, rank 1 arriving 2 ms late at every timed sample")
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite.yaml"
        suite.write_text(SUITE)
        ratios = {s: [] for s in SIZES}
        figures = {s: [] for s in SIZES}
        arrivals = {s: [] for s in SIZES}
        for _ in range(args.rounds):
            clean = allreduce(args.build, suite, False)
            late = allreduce(args.build, suite, True)
            for size in SIZES:
                ratios[size].append(late[size][0] / clean[size][0])
                figures[size].append((clean[size][0], late[size][0]))
                arrivals[size].append(late[size][2])
    for size in SIZES:
        ratio = statistics.median(ratios[size])
        named = all(a["latest_rank"] == 1 and 1 in a["late_ranks"] for a in arrivals[size])
        late_ms = statistics.median(a["latest_late_s"] for a in arrivals[size]) * 1e3
        ok = ok and abs(ratio - 1) <= 0.05 and named
        print(f"  {size >> 10:>6} KiB: busbw with late rank / without, median of {len(ratios[size])} rounds: "
              f"{ratio:.4f} (rounds {min(ratios[size]):.3f} to {max(ratios[size]):.3f}; median busbw "
              f"{statistics.median(c for c, _ in figures[size]):.4f} vs {statistics.median(l for _, l in figures[size]):.4f}"
              f" GB/s); rank 1 named late in every run: {named}, by {late_ms:.2f} ms (median)")
    print("targets met" if ok else "target missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
