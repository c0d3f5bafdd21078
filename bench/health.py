#!/usr/bin/env python3
"""rackqual health: wall time, and the share of it spent outside the measurements.

Usage: python3 bench/health.py --build BUILD_DIR [--rounds N] [--suite SUITE]   (default 5, health.yaml)

Each round runs `rackqual health --backend host --out DIR` (the node's two ranks, launched by
health itself) and times it from outside. Inside, the manifest gives each check's wall time
(check_seconds: from a check's start to its verdict, measurement and correctness check);
everything else is outside the measurements: process and MPI start-up, loading and planning
the suite, the backend's set-up, writing records, judging and exit. Prints per round and the
medians; exits 1 when the median share outside the measurements is 10% or more.
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 0.10


def one_round(build: Path, suite: Path) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        p = subprocess.run([build / "rackqual", "health", "--backend", "host", "--suite", suite, "--out", out],
                           capture_output=True, text=True)
        wall = time.perf_counter() - start
        if p.returncode not in (0, 1):
            sys.exit(f"health: rackqual health exited {p.returncode}:\n{p.stdout}{p.stderr}")
        (manifest,) = Path(out).glob("*/manifest.json")
        checks = json.loads(manifest.read_text())["check_seconds"]
        return wall, sum(checks.values()), p.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--suite", type=Path, default=ROOT / "suites" / "health.yaml")
    args = parser.parse_args()
    walls, outside = [], []
    for i in range(args.rounds):
        wall, measured, code = one_round(args.build, args.suite)
        walls.append(wall)
        outside.append((wall - measured) / wall)
        print(f"round {i + 1}: wall {wall:.2f} s, in checks {measured:.2f} s, outside {wall - measured:.2f} s "
              f"({outside[-1]:.1%}), exit {code}")
    share = statistics.median(outside)
    print(f"median: wall {statistics.median(walls):.2f} s, outside the measurements {share:.1%} (limit {LIMIT:.0%})")
    sys.exit(0 if share < LIMIT else 1)


if __name__ == "__main__":
    main()
