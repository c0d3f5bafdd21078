#!/usr/bin/env python3
"""Harness overhead: rackqual's figures against bare MPI and OpenMP loops of the same size.

Usage: python3 bench/overhead.py --build BUILD_DIR [--rounds N]   (default 5)

Each round runs, interleaved, rackqual's allreduce-64mib (2 ranks) and bare_allreduce (2 ranks),
then rackqual's triad (1 rank, --only) and bare_triad, with the same OMP_NUM_THREADS on both
sides of a comparison. Each side's figure is its best repetition over all rounds (STREAM's
convention: on a shared machine the fastest repetition is the one other load disturbed least);
the ratio is rackqual / bare and must be at least 0.95 (exit 1 otherwise). The ratio of the
medians is printed beside it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "bench" / "overhead.yaml"
MPIEXEC = "mpiexec.mpich"
THRESHOLD = 0.95
ALLREDUCE_BYTES = 64 << 20  # must match allreduce-64mib in overhead.yaml
TRIAD_BYTES = 256 << 20  # must match triad in overhead.yaml
REPETITIONS = 7  # overhead.yaml's defaults.repetitions
ALLREDUCE_ITERATIONS = 5  # ~ min_time 0.3 s at ~60 ms per 64 MiB all-reduce
TRIAD_ITERATIONS = 8  # ~ min_time 0.3 s at ~40 ms per 3 x 256 MiB triad pass


def run(cmd, threads):
    """Runs cmd with OMP_NUM_THREADS=threads; returns its stdout, or exits on failure."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    p = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"overhead: {' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


def rackqual(build, check, metric, ranks, threads, expect_bytes):
    """Median of `metric` that rackqual records for `check`, run alone on `ranks` ranks."""
    with tempfile.TemporaryDirectory() as out:
        run([MPIEXEC, "-n", ranks, Path(build) / "rackqual", "run", SUITE, "--out", out, "--only", check], threads)
        for path in Path(out).glob("*/records.jsonl"):
            for line in path.read_text().splitlines():
                r = json.loads(line)
                if r["check"] == check and r["metric"] == metric:
                    size = r["params"].get("bytes") or r["params"]["sizes"][0]
                    if size != expect_bytes or not r["correct"]["ok"]:
                        sys.exit(f"overhead: {check}: size {size} (expected {expect_bytes}), correct: {r['correct']}")
                    return r["stats"]["median"], r["stats"]["max"]
    sys.exit(f"overhead: no {check} {metric} record")


def bare(cmd, threads, field):
    """The median and best `field` of the JSON line a bare program prints."""
    figures = json.loads(run(cmd, threads).strip().splitlines()[-1])
    return figures[field], figures["best_" + field]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="build directory holding rackqual and bench/")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    args = ap.parse_args()
    build = Path(args.build)
    cores = len(os.sched_getaffinity(0))

    # name -> (rackqual run, bare run); all-reduce at 1 thread per rank, triad on every core.
    figures = {
        f"allreduce {ALLREDUCE_BYTES >> 20}MiB fp32, 2 ranks: busbw GB/s": (
            lambda: rackqual(build, "allreduce-64mib", "busbw_gbps", 2, 1, ALLREDUCE_BYTES),
            lambda: bare([MPIEXEC, "-n", 2, build / "bench" / "bare_allreduce", ALLREDUCE_BYTES, ALLREDUCE_ITERATIONS,
                          REPETITIONS], 1, "busbw_gbps")),
        f"triad {TRIAD_BYTES >> 20}MiB fp64, 1 rank x {cores} threads: GB/s": (
            lambda: rackqual(build, "triad", "gbps", 1, cores, TRIAD_BYTES),
            lambda: bare([build / "bench" / "bare_triad", TRIAD_BYTES, TRIAD_ITERATIONS, REPETITIONS], cores, "gbps")),
    }
    samples = {name: ([], []) for name in figures}
    for n in range(args.rounds):
        for name, sides in figures.items():
            order = (0, 1) if n % 2 == 0 else (1, 0)  # alternate who goes first, so drift hits both alike
            for side in order:
                samples[name][side].append(sides[side]())
        print(f"round {n + 1}/{args.rounds} done", file=sys.stderr, flush=True)

    failed = False
    print(f"{'figure (best repetition)':<46} {'rackqual':>9} {'bare':>9} {'ratio':>6}   median ratio")
    for name, (rq, br) in samples.items():
        a, b = max(x[1] for x in rq), max(x[1] for x in br)
        ratio = a / b
        median_ratio = statistics.median(x[0] for x in rq) / statistics.median(x[0] for x in br)
        failed |= ratio < THRESHOLD
        print(f"{name:<46} {a:9.3f} {b:9.3f} {ratio:6.3f}   {median_ratio:6.3f}"
              f"{'' if ratio >= THRESHOLD else '   < ' + str(THRESHOLD)}")
        print(f"  per round, best: rackqual {' '.join(f'{x[1]:.3f}' for x in rq)} | bare {' '.join(f'{x[1]:.3f}' for x in br)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
