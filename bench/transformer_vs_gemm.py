#!/usr/bin/env python3
"""The host training step's model TFLOP/s against the fp32 GEMM TFLOP/s measured in the same run.

Usage: python3 bench/transformer_vs_gemm.py --build BUILD_DIR [--ranks N]
Target: step TFLOP/s >= 0.60 x GEMM TFLOP/s (exit 1 otherwise). Prints both, the ratio, and
where the step's time goes (forward, backward, all-reduce, optimizer).
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
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["mpiexec.mpich", "-n", str(args.ranks), str(pathlib.Path(args.build) / "rackqual"), "run",
                        str(ROOT / "bench" / "transformer.yaml"), "--out", out], check=True, stdout=subprocess.DEVNULL)
        lines = next(pathlib.Path(out).glob("*/records.jsonl")).read_text().splitlines()
    records = [json.loads(line) for line in lines]

    def figure(check: str, metric: str) -> float:
        values = [r["value"] for r in records if r["check"] == check and r["metric"] == metric]
        return min(values)   # the slowest rank

    gemm, step = figure("gemm-fp32", "tflops"), figure("transformer-step", "model_tflops")
    ratio = step / gemm
    print(f"{'gemm fp32 2048^3 TFLOP/s':<40} {gemm:8.4f}")
    print(f"{'transformer step model TFLOP/s':<40} {step:8.4f}")
    print(f"{'ratio (target >= %.2f)' % TARGET:<40} {ratio:8.3f}")
    total = figure("transformer-step", "step_time_s")
    for phase in ("forward", "backward", "allreduce", "optimizer"):
        values = [r["value"] for r in records if r["check"] == "transformer-step" and r["metric"] == f"{phase}_s"]
        if values:
            print(f"  {phase + ' s':<38} {max(values):8.4f}  ({100 * max(values) / total:4.1f}% of the step)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
