#!/usr/bin/env python3
"""The host training step's model TFLOP/s against the fp32 GEMM TFLOP/s measured in the same run.

Usage: python3 bench/transformer_vs_gemm.py --build BUILD_DIR [--ranks N] [--rounds N]
Target: step TFLOP/s >= 0.60 x GEMM TFLOP/s (exit 1 otherwise). Each round is one rackqual run
holding both checks; each side's figure is its best repetition over the rounds (on a shared
machine the fastest repetition is the one other load disturbed least), and the median of the
per-round ratios of medians is printed beside it. Also prints where the step's time goes.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = 0.60


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"), help="build directory holding rackqual")
    ap.add_argument("--ranks", type=int, default=1, help="ranks (each gets cores / ranks threads)")
    ap.add_argument("--rounds", type=int, default=3, help="rackqual runs (default 3)")
    args = ap.parse_args()
    rounds = []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(["mpiexec.mpich", "-n", str(args.ranks), str(pathlib.Path(args.build) / "rackqual"), "run",
                            str(ROOT / "bench" / "transformer.yaml"), "--out", out], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            lines = next(pathlib.Path(out).glob("*/records.jsonl")).read_text().splitlines()
        rounds.append([json.loads(line) for line in lines])

    def records(run, check, metric):
        return [r for r in run if r["check"] == check and r["metric"] == metric]

    def best(check, metric):   # the slowest rank's best repetition, best over the rounds
        return max(min(r["stats"]["max"] for r in records(run, check, metric)) for run in rounds)

    def median_ratio():
        ratios = sorted(min(r["value"] for r in records(run, "transformer-step", "model_tflops")) /
                        min(r["value"] for r in records(run, "gemm-fp32", "tflops")) for run in rounds)
        return ratios[len(ratios) // 2]

    gemm, step = best("gemm-fp32", "tflops"), best("transformer-step", "model_tflops")
    ratio = step / gemm
    print(f"{'gemm fp32 2048^3 TFLOP/s':<40} {gemm:8.4f}")
    print(f"{'transformer step model TFLOP/s':<40} {step:8.4f}")
    print(f"{'ratio (target >= %.2f)' % TARGET:<40} {ratio:8.3f}   median of per-round ratios {median_ratio():.3f}")
    last = rounds[-1]
    total = max(r["value"] for r in records(last, "transformer-step", "step_time_s"))
    for phase in ("forward", "backward", "allreduce", "optimizer"):
        values = [r["value"] for r in records(last, "transformer-step", f"{phase}_s")]
        if values:
            print(f"  {phase + ' s':<38} {max(values):8.4f}  ({100 * max(values) / total:4.1f}% of the step)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
