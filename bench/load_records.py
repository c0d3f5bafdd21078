"""Reading records into a DataFrame: rackqual.load against pandas.read_json(lines=True) followed by the
same flattening (objects one level deep with dots, strings as categories, times as timestamps), on
one generated file, side by side in one run. Prints both times, rows per second and the ratio.

    RACKQUAL_BUILD=build .venv/bin/python bench/load_records.py [--records 5000000] [--dir /tmp]
"""
from __future__ import annotations

import argparse
import json
import pathlib
import random
import resource
import sys
import tempfile
import time

import pandas as pd

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "python"))
import rackqual  # noqa: E402

# Records as a nightly run writes them: every GPU's GEMM, HBM and step figures, with context.
TEMPLATE = {
    "arrival": None, "backend": "cuda", "better": "higher", "check": "gemm-bf16",
    "correct": {"detail": "64 sampled outputs within bf16 tolerance of a double reference", "ok": True},
    "criterion": "tflops: {min_fraction_of_peak: 0.6}", "device": {"index": 0, "name": "NVIDIA H100 80GB HBM3",
    "serial": "", "uuid": ""}, "digests": None, "group": "", "host": "", "isolation": None, "kind": "gemm",
    "metric": "tflops", "params": {"dtype": "bf16", "k": 8192, "m": 8192, "n": 8192}, "rack": "", "rank": 0,
    "reason": "", "run_id": "20261126T010000Z-aaaa", "schema": 1, "scope": "gpu",
    "stats": {"cv": 0.0, "max": 0.0, "median": 0.0, "min": 0.0, "n": 10, "p10": 0.0, "p90": 0.0, "p95": 0.0},
    "suite": "nightly", "telemetry": {"avg_power_w": 650.0, "max_temp_c": 71, "throttled": False},
    "time": "", "timing": {"batches_per_repetition": 5, "launches_per_batch": 20, "repetitions": 10},
    "unit": "TFLOP/s", "value": 0.0, "verdict": "pass"}


def generate(path: pathlib.Path, records: int) -> None:
    rng = random.Random(7)
    with path.open("w") as out:
        for i in range(records):
            host, gpu = divmod(i, 8)
            v = 700 + rng.gauss(0, 15)
            r = dict(TEMPLATE, host=f"h{host:06d}", group=f"h{host:06d}", rack=f"r{host // 18:05d}", rank=i,
                     value=v, reason=f"{v:.4g} >= min 594 ({v / 9.89:.2f}% of peak 989)",
                     time=f"2026-11-26T01:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d}.{i % 1000:03d}Z",
                     device=dict(TEMPLATE["device"], index=gpu, serial=f"165{i:010d}", uuid=f"GPU-{i:08x}"),
                     stats=dict(TEMPLATE["stats"], median=v, min=v - 3, max=v + 3, p10=v - 2, p90=v + 2, p95=v + 2.5, cv=0.004))
            out.write(json.dumps(r, separators=(",", ":")) + "\n")


def with_pandas(path: pathlib.Path, chunk: int = 250_000) -> pd.DataFrame:
    frames = []
    for part in pd.read_json(path, lines=True, chunksize=chunk, dtype=False, convert_dates=False):
        flat = pd.json_normalize(part.to_dict("records"), max_level=1)
        frames.append(flat)
    df = pd.concat(frames, ignore_index=True)
    for name in df.columns:
        if df[name].dtype == object:
            df[name] = df[name].astype("category")
    df["time"] = pd.to_datetime(df["time"].astype(str), utc=True)
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=5_000_000)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    path = pathlib.Path(args.dir) / f"rackqual-bench-{args.records}.jsonl"
    if not path.exists():
        started = time.perf_counter()
        generate(path, args.records)
        print(f"generated {args.records} records, {path.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    ours = rackqual.load(path)
    t_ours = time.perf_counter() - started
    peak_ours = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    del ours
    started = time.perf_counter()
    theirs = with_pandas(path)
    t_pandas = time.perf_counter() - started
    print(f"rackqual.load:                 {t_ours:8.1f} s  {args.records / t_ours:12,.0f} records/s  (peak RSS so far {peak_ours:.1f} GiB)")
    print(f"pandas.read_json + flattening: {t_pandas:8.1f} s  {args.records / t_pandas:12,.0f} records/s  ({len(theirs)} rows)")
    print(f"ratio (pandas / rackqual.load): {t_pandas / t_ours:.1f}x")


if __name__ == "__main__":
    main()
