#!/usr/bin/env python3
"""Isolation cost end to end, at N = 4 hosts: the real binary under mpiexec (8 ranks on
--simulate 2x2x2: 2 racks x 2 hosts x 2 GPUs), a 16 MiB all-reduce over all of them failing its
floor because of planted faults, isolated inside the run. Prints per scenario: probes used
against the bound 2 d log2(N/d) + d, rounds, GPU-seconds the probes timed (ranks x timed
seconds), and whether the culprits named are exactly the planted ones; beside them all-pairs
testing (N(N-1)/2) and one-fault bisection (d log2 N).
Usage: bench/isolation_e2e.py [build/rackqual]"""
import json
import math
import pathlib
import subprocess
import sys
import tempfile

BIN = sys.argv[1] if len(sys.argv) > 1 else str(pathlib.Path(__file__).resolve().parents[1] / "build" / "rackqual")
N = 4
SUITE = """name: isolation-e2e
platform: host
defaults: {repetitions: 3, min_time: 0.02s, deadline: 300s}
checks:
  - id: cluster-reduce
    kind: allreduce
    scope: cluster
    params: {sizes: [16MiB]}
    criteria:
      busbw_gbps: {min: 0.07}
"""
SCENARIOS = [
    ("slow host r1-h0", ["--slow-host", "r1-h0=20"], {("slow_member", "r1-h0")}),
    ("slow link r0-h0,r1-h1", ["--slow-link", "r0-h0,r1-h1=20"], {("slow_link", "r0-h0", "r1-h1")}),
    ("slow hosts r0-h1, r1-h1", ["--slow-host", "r0-h1=20", "--slow-host", "r1-h1=20"],
     {("slow_member", "r0-h1"), ("slow_member", "r1-h1")}),
]


def run(drills):
    with tempfile.TemporaryDirectory() as tmp:
        suite = pathlib.Path(tmp) / "suite.yaml"
        suite.write_text(SUITE)
        out = pathlib.Path(tmp) / "out"
        subprocess.run(["mpiexec.mpich", "-n", "8", BIN, "run", str(suite), "--out", str(out), "--simulate", "2x2x2",
                        *drills], capture_output=True, text=True, timeout=900)
        return [json.loads(line) for line in next(out.glob("*/records.jsonl")).read_text().splitlines()]


def main():
    print(f"{'scenario':26} {'d':>2} | {'probes':>6} {'bound':>6} {'rounds':>6} {'GPU-s':>7} | {'exact':>5} | "
          f"{'all-pairs':>9} {'bisection':>9}")
    failures = 0
    for name, drills, planted in SCENARIOS:
        records = run(drills)
        probes, rounds, gpu_s, found = set(), set(), 0.0, set()
        for r in records:
            iso = r.get("isolation") or {}
            if "probe" in iso and r["metric"] == "time_us":
                probes.add(iso["probe"])
                rounds.add(iso["round"])
                t = r["timing"]
                ranks = int(r["correct"]["detail"].split("sum over ")[1].split(" ")[0]) if "sum over" in r["correct"]["detail"] else 0
                gpu_s += ranks * r["value"] * 1e-6 * t["launches_per_batch"] * t["batches_per_repetition"] * t["repetitions"]
            if "culprit" in iso:
                found.add((iso["culprit"], iso["member"], iso["peer"]) if "peer" in iso else (iso["culprit"], iso["member"]))
        d = len(planted)
        bound = 2 * d * math.log2(N / d) + d
        exact = found == planted
        failures += not exact
        print(f"{name:26} {d:>2} | {len(probes):>6} {bound:>6.1f} {len(rounds):>6} {gpu_s:>7.2f} | {'yes' if exact else 'NO':>5} | "
              f"{N * (N - 1) // 2:>9} {d * math.log2(N):>9.1f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
