#!/usr/bin/env python3
"""GPU performance targets of the cuda backend, side by side in one run on one GPU:
  - bf16 GEMM 8192^3: rackqual (cuBLASLt) against torch.matmul on the same GPU; target >= 0.98;
  - HBM triad: rackqual's GB/s against the platform profile's HBM peak; target >= 0.90.

Usage: python3 bench/gpu_ratios.py --build BUILD_DIR
torch is optional: without it the GEMM comparison says so and is not judged.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUITE = ROOT / "suites" / "rack-bringup.yaml"
GEMM_TARGET, TRIAD_TARGET = 0.98, 0.90


def rackqual(build: pathlib.Path) -> tuple[dict, dict]:
    """rackqual's gemm-bf16 and hbm-triad records, and the run manifest."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["mpiexec.mpich", "-n", "1", str(build / "rackqual"), "run", str(SUITE), "--backend", "cuda",
                        "--only", "gemm-bf16", "--only", "hbm-triad", "--out", out], check=False)
        run = next(pathlib.Path(out).glob("*"))
        records = {r["check"]: r for r in map(json.loads, (run / "records.jsonl").read_text().splitlines())}
        return records, json.loads((run / "manifest.json").read_text())


def torch_matmul_tflops(n: int = 8192, repetitions: int = 10, iterations: int = 20) -> float | None:
    """Median TFLOP/s of torch.matmul on random bf16 n x n matrices, timed with CUDA events."""
    try:
        import torch
    except ImportError:
        return None
    a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
    for _ in range(5):
        torch.matmul(a, b)
    times = []
    for _ in range(repetitions):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iterations):
            torch.matmul(a, b)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) / 1e3 / iterations)
    times.sort()
    return 2 * n**3 / times[len(times) // 2] / 1e12


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"), help="build directory holding rackqual")
    build = pathlib.Path(ap.parse_args().build)
    records, manifest = rackqual(build)
    failed = False
    print(f"platform {manifest['platform']}, GPU {manifest['versions'].get('gpu', '?')}")
    print(f"{'figure':<34} {'rackqual':>10} {'reference':>10} {'ratio':>7} {'target':>7}")

    gemm = records["gemm-bf16"]["value"]
    torch_tflops = torch_matmul_tflops()
    if torch_tflops is None:
        print(f"{'gemm bf16 8192^3 TFLOP/s':<34} {gemm:10.1f} {'no torch':>10}")
    else:
        ratio = gemm / torch_tflops
        failed |= ratio < GEMM_TARGET
        print(f"{'gemm bf16 8192^3 TFLOP/s (torch)':<34} {gemm:10.1f} {torch_tflops:10.1f} {ratio:7.3f} {GEMM_TARGET:7.2f}")

    triad = records["hbm-triad"]["value"]
    peak = manifest["platform_peaks"].get("memory_gbps")
    if peak:
        ratio = triad / peak
        failed |= ratio < TRIAD_TARGET
        print(f"{'hbm triad 4GiB GB/s (HBM peak)':<34} {triad:10.1f} {peak:10.1f} {ratio:7.3f} {TRIAD_TARGET:7.2f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
