#!/usr/bin/env python3
"""GPU performance targets of the cuda backend, side by side in one run on one GPU:
  - bf16 GEMM 8192^3: rackqual (cuBLASLt) against torch.matmul on the same GPU; target >= 0.98;
  - HBM triad: rackqual's GB/s as a fraction of the HBM peak, against what healthy parts of the
    model reach (the matched platform profile's `expected.hbm_triad`, e.g. 0.89 on H100 SXM and
    0.86 on H200 SXM, from BabelStream), less 3.5% (Azure's warning band below an expected figure).

Usage: python3 bench/gpu_ratios.py --build BUILD_DIR   (BUILD_DIR holds rackqual: build/, or bin/ of a bundle)
torch is optional: without it the GEMM comparison says so and is not judged. A profile without
`expected.hbm_triad` (no public measurement of healthy parts yet) prints the ratio unjudged.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
# rack-bringup's two checks, at its sizes and repetitions.
SUITE = """name: gpu-ratios
platform: auto
defaults: {repetitions: 10, min_time: 0.5s, deadline: 600s}
checks:
  - {id: gemm-bf16, kind: gemm, scope: gpu, params: {m: 8192, n: 8192, k: 8192, dtype: bf16}}
  - {id: hbm-triad, kind: hbm, scope: gpu, params: {op: triad, bytes: 4GiB}}
"""
GEMM_TARGET = 0.98
TRIAD_TOLERANCE = 0.965   # within 3.5% of what healthy parts reach
MPIEXEC = os.environ.get("RACKQUAL_MPIEXEC", "mpiexec.mpich")


def rackqual(build: pathlib.Path) -> tuple[dict, dict]:
    """rackqual's gemm-bf16 and hbm-triad records, and the run manifest."""
    with tempfile.TemporaryDirectory() as tmp:
        suite, out = pathlib.Path(tmp) / "gpu-ratios.yaml", pathlib.Path(tmp) / "out"
        suite.write_text(SUITE)
        subprocess.run([MPIEXEC, "-n", "1", str(build / "rackqual"), "run", str(suite), "--backend", "cuda",
                        "--out", str(out)], check=False)
        run = next(out.glob("*"))
        records = {r["check"]: r for r in map(json.loads, (run / "records.jsonl").read_text().splitlines())}
        return records, json.loads((run / "manifest.json").read_text())


def platform_profile(name: str) -> dict:
    """The profile rackqual ran against, looked for where rackqual looks for installed ones:
    $RACKQUAL_DATA_DIR/suites/platforms (a bundle), else this tree's."""
    dirs = []
    if os.environ.get("RACKQUAL_DATA_DIR"):
        dirs.append(pathlib.Path(os.environ["RACKQUAL_DATA_DIR"]) / "suites" / "platforms")
    dirs.append(ROOT / "suites" / "platforms")
    for folder in dirs:
        path = folder / f"{name}.yaml"
        if path.is_file():
            return yaml.safe_load(path.read_text())
    raise SystemExit(f"gpu_ratios: no profile {name}.yaml in {', '.join(map(str, dirs))}")


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
    expected = (platform_profile(manifest["platform"]).get("expected") or {}).get("hbm_triad")
    peak_key = expected["peak"] if expected else "memory_gbps"
    peak = manifest["platform_peaks"].get(peak_key)
    if not peak:
        print(f"hbm triad: profile {manifest['platform']} gives no '{peak_key}' figure; not judged")
    elif not expected:
        print(f"{'hbm triad 4GiB GB/s (HBM peak)':<34} {triad:10.1f} {peak:10.1f} {triad / peak:7.3f} {'none':>7}"
              f"  (profile {manifest['platform']} has no expected.hbm_triad: not judged)")
    else:
        ratio, target = triad / peak, expected["fraction_of_peak"] * TRIAD_TOLERANCE
        failed |= ratio < target
        print(f"{'hbm triad 4GiB GB/s (HBM peak)':<34} {triad:10.1f} {peak:10.1f} {ratio:7.3f} {target:7.3f}"
              f"  (healthy parts: {expected['fraction_of_peak']:.2f} of peak, {expected['source']})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
