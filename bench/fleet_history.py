#!/usr/bin/env python3
"""Fleet history at scale: two nights of suites/nightly.yaml on a synthetic fleet of 1,000,000 GPUs
(125,000 hosts x 8, one run per rack) ingested into a history, then compared night against night
and against each GPU's own history, within 60 s and 8 GiB on 2 cores.

    RACKQUAL_BUILD=build python bench/fleet_history.py [--gpus 1000000] [--hosts-per-rack 4] [--work DIR]

The nights are generated with numpy as DataFrames of rackqual.load's contract (what the loader
would give for the nights' records files) and go through the real ingest (DataFrame to the
history's table, staging, partitioned Parquet, renames, commit): writing 11 million records as
JSON Lines only to parse them again would time the JSON reader, not the history, and take
gigabytes of disk. The JSON path is timed on a sample: --sample-racks racks of the first night
written as real records files (with manifests) and ingested from disk with rackqual.load, then
checked to store the same figures as the DataFrame path. The comparisons run in a child process
limited to 2 threads, whose peak resident memory (VmHWM) is the figure reported.

Planted on the second night, to be found exactly (each figure else wobbles under 1.5% a night,
so a 5% criterion has no false positives): 0.1% of GPUs 10% slower at GEMM, 0.05% 8% slower at
HBM, 0.1% of nodes' all-reduce 20% slower, 20 racks' training step 15% slower; and 0.2% of GPUs
swapped between racks (re-slotted), which must not show as regressions.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

NIGHTS = ["2025-06-01", "2025-06-02"]
GIB, MIB = 1 << 30, 1 << 20
MODEL = "NVIDIA H100 80GB HBM3"

# suites/nightly.yaml: check, kind, scope, params, metrics (name, unit, better, healthy figure).
ALLREDUCE_METRICS = [("time_us", "us", "lower"), ("time_p95_us", "us", "lower"), ("algbw_gbps", "GB/s", "higher"),
                     ("busbw_gbps", "GB/s", "higher")]
CHECKS = [
    ("gemm-bf16", "gemm", "gpu", {"m": 8192, "n": 8192, "k": 8192, "dtype": "bf16"},
     [("tflops", "TFLOP/s", "higher", 760.0), ("tflops_per_watt", "TFLOP/s/W", "higher", 1.12)]),
    ("hbm-triad", "hbm", "gpu", {"op": "triad", "bytes": 4 * GIB},
     [("gbps", "GB/s", "higher", 2950.0), ("gbps_per_watt", "GB/s/W", "higher", 4.3)]),
    ("transformer-step", "transformer_step", "rack",
     {"hidden": 4096, "heads": 32, "seq": 2048, "micro_batch": 1, "layers": 2, "vocab": 8192, "dtype": "bf16", "grad_dtype": "bf16"},
     [("step_time_s", "s", "lower", 0.025), ("tokens_per_s", "tokens/s", "higher", 2.6e6), ("model_tflops", "TFLOP/s", "higher", 230.0),
      ("mfu", "fraction", "higher", 0.23), ("forward_s", "s", "lower", 0.008), ("backward_s", "s", "lower", 0.011),
      ("allreduce_s", "s", "lower", 0.004), ("optimizer_s", "s", "lower", 0.002)]),
]
# all-reduce figures at 64 MiB and 2 GiB: busbw, and the time that busbw implies over n ranks.
ALLREDUCE = [("allreduce-node", "node", {64 * MIB: 250.0, 2 * GIB: 370.0}), ("allreduce-rack", "rack", {64 * MIB: 40.0, 2 * GIB: 45.0})]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def vmhwm_mib() -> float:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Fleet:
    """The fleet's layout, each GPU's and group's own speed, the re-slots and the planted faults."""

    def __init__(self, gpus: int, hosts_per_rack: int, seed: int = 7):
        self.rng = np.random.default_rng(seed)
        self.gpus, self.hosts = gpus, gpus // 8
        self.racks = -(-self.hosts // hosts_per_rack)
        self.hosts_per_rack = hosts_per_rack
        self.serials = np.array([f"SN{i:08d}" for i in range(gpus)], dtype=object)
        self.host_names = np.array([f"r{h // hosts_per_rack:05d}-h{h % hosts_per_rack}" for h in range(self.hosts)], dtype=object)
        self.rack_names = np.array([f"r{r:05d}" for r in range(self.racks)], dtype=object)
        # Silicon spread: each GPU, node and rack a fixed few percent off the healthy figure.
        self.silicon = 1 + self.rng.uniform(-0.03, 0.03, gpus)
        self.node_speed = 1 + self.rng.uniform(-0.03, 0.03, self.hosts)
        self.rack_speed = 1 + self.rng.uniform(-0.03, 0.03, self.racks)
        # Night 2: pairs of GPUs swap slots (serial at slot s on night n: slot_serial[n][s]).
        swap = self.rng.choice(gpus, size=(gpus // 1000, 2), replace=False)
        second = np.arange(gpus)
        second[swap[:, 0]], second[swap[:, 1]] = swap[:, 1], swap[:, 0]
        self.slot_serial = [np.arange(gpus), second]
        self.slow_gemm = self.rng.choice(gpus, gpus // 1000, replace=False)      # by serial
        self.slow_hbm = self.rng.choice(gpus, gpus // 2000, replace=False)
        self.slow_nodes = self.rng.choice(self.hosts, self.hosts // 1000, replace=False)
        self.slow_racks = self.rng.choice(self.racks, min(20, self.racks), replace=False)

    def wobble(self, n: int) -> np.ndarray:
        return 1 + np.clip(self.rng.normal(0, 0.004, n), -0.007, 0.007)

    def expected(self) -> set[tuple[str, str]]:
        """(check, subject) of every planted regression."""
        out = {("gemm-bf16", self.serials[s]) for s in self.slow_gemm}
        out |= {("hbm-triad", self.serials[s]) for s in self.slow_hbm}
        out |= {("allreduce-node", f"node:{self.host_names[h]}") for h in self.slow_nodes}
        out |= {("transformer-step", f"rack:{self.rack_names[r]}") for r in self.slow_racks}
        return out


def night_frame(fleet: Fleet, night: int) -> pd.DataFrame:
    """One night's records as rackqual.load gives them: one run per rack, every figure of nightly.yaml."""
    date = NIGHTS[night]
    last = night == len(NIGHTS) - 1
    blocks = []   # per block: dict of column -> numpy array (codes for categoricals, -1 missing)
    slot_serial = fleet.slot_serial[night]
    gpu_slot = np.arange(fleet.gpus)
    gpu_host = gpu_slot // 8
    for check, kind, scope, params, metrics in CHECKS:
        if scope == "gpu":
            serial = slot_serial
            speed = fleet.silicon[serial]
            slow = np.isin(serial, fleet.slow_gemm if kind == "gemm" else fleet.slow_hbm) if last else None
            factor = np.where(slow, 0.90 if kind == "gemm" else 0.92, 1.0) if last else 1.0
            for metric, unit, better, base in metrics:
                f = speed * fleet.wobble(fleet.gpus) * factor
                blocks.append(dict(check=check, kind=kind, scope=scope, params=params, metric=metric, unit=unit, better=better,
                                   host=gpu_host, rack=gpu_host // fleet.hosts_per_rack, group=gpu_host, rank=gpu_slot % (8 * fleet.hosts_per_rack),
                                   index=gpu_slot % 8, serial=serial, value=base * f if better == "higher" else base / f,
                                   power=np.full(fleet.gpus, 680.0)))
        else:
            racks = np.arange(fleet.racks)
            factor = np.where(np.isin(racks, fleet.slow_racks), 0.85, 1.0) if last else 1.0
            for metric, unit, better, base in metrics:
                f = fleet.rack_speed * fleet.wobble(fleet.racks) * factor
                blocks.append(dict(check=check, kind=kind, scope=scope, params=params, metric=metric, unit=unit, better=better,
                                   host=racks * fleet.hosts_per_rack, rack=racks, group=-1 - racks, rank=np.zeros(fleet.racks, int),
                                   value=base * f if better == "higher" else base / f))
    for check, scope, busbw in ALLREDUCE:
        if scope == "node":
            owners, n_ranks, speed = np.arange(fleet.hosts), 8, fleet.node_speed
            host, rack, group = owners, owners // fleet.hosts_per_rack, owners
            factor = np.where(np.isin(owners, fleet.slow_nodes), 0.8, 1.0) if last else 1.0
        else:
            owners, n_ranks, speed = np.arange(fleet.racks), 8 * fleet.hosts_per_rack, fleet.rack_speed
            host, rack, group = owners * fleet.hosts_per_rack, owners, -1 - owners
            factor = 1.0
        for size, bw in busbw.items():
            f = speed * fleet.wobble(len(owners)) * factor
            bus = bw * f
            alg = bus * n_ranks / (2 * (n_ranks - 1))
            t = size / (alg * 1e9) * 1e6
            for metric, unit, better in ALLREDUCE_METRICS:
                value = {"time_us": t, "time_p95_us": t * 1.04, "algbw_gbps": alg, "busbw_gbps": bus}[metric]
                blocks.append(dict(check=check, kind="allreduce", scope=scope,
                                   params={"sizes": f"[{size}]", "dtype": "bf16", "in_place": "false"}, metric=metric,
                                   unit=unit, better=better, host=host, rack=rack, group=group, rank=np.zeros(len(owners), int),
                                   value=value))
    return assemble(fleet, blocks, date)


def assemble(fleet: Fleet, blocks: list[dict], date: str) -> pd.DataFrame:
    """Concatenates blocks into one DataFrame with the loader's dtypes (strings as Categoricals)."""
    lengths = [len(b["value"]) for b in blocks]
    n = sum(lengths)

    def per_block(key, default=None):
        return np.concatenate([np.broadcast_to(np.asarray(b.get(key, default)), (length,)) for b, length in zip(blocks, lengths)])

    def category(values, categories):
        return pd.Categorical.from_codes(values, categories=pd.Index(categories, dtype=object))

    def constant_per_block(key):
        names = sorted({str(b[key]) for b in blocks})
        codes = per_block_codes(lambda b: names.index(str(b[key])))
        return category(codes, names)

    def per_block_codes(code_of):
        return np.concatenate([np.full(length, code_of(b), dtype=np.int32) for b, length in zip(blocks, lengths)])

    host = per_block("host")
    rack = per_block("rack")
    group = per_block("group")   # a host's index, or -1 - rack for a rack's group
    run_codes = rack
    base = pd.Timestamp(date + "T01:00:00Z")
    frame = {
        "run_id": category(run_codes, [f"{date.replace('-', '')}T010000Z-{r}" for r in fleet.rack_names]),
        # Racks start half a second apart (31,250 racks: 4.3 hours), each run taking about a minute.
        "time": pd.DatetimeIndex(base + pd.to_timedelta(rack * 0.5 + np.arange(n) % 600 / 10, unit="s")),
        "suite": category(np.zeros(n, np.int8), ["nightly"]),
        "check": constant_per_block("check"), "kind": constant_per_block("kind"), "scope": constant_per_block("scope"),
        "backend": category(np.zeros(n, np.int8), ["cuda"]),
        "group": category(np.where(group >= 0, group, fleet.hosts + (-1 - group)),
                          list(fleet.host_names) + list(fleet.rack_names)),
        "rank": per_block("rank").astype("int64"),
        "host": category(host, fleet.host_names), "rack": category(rack, fleet.rack_names),
        "device.index": per_block("index", np.nan).astype("float64"),
        "device.name": category(np.where(np.isnan(per_block("index", np.nan)), -1, 0), [MODEL]),
        "device.serial": category(per_block("serial", -1).astype(np.int64), fleet.serials),
        "metric": constant_per_block("metric"), "unit": constant_per_block("unit"), "better": constant_per_block("better"),
        "value": per_block("value").astype("float64"),
        "telemetry.avg_power_w": per_block("power", np.nan).astype("float64"),
        "verdict": category(np.zeros(n, np.int8), ["pass"]),
        "reason": category(np.zeros(n, np.int8), [""]),
        "correct.ok": pd.array(np.ones(n, bool), dtype="boolean"),
        "schema": np.ones(n),
    }
    value = frame["value"]
    frame.update({"stats.n": np.full(n, 7.0), "stats.median": value, "stats.min": value * 0.995, "stats.max": value * 1.005,
                  "stats.cv": np.full(n, 0.004)})
    keys = sorted({k for b in blocks for k in b["params"]})
    for key in keys:
        values = [b["params"].get(key) for b in blocks]
        if all(v is None or isinstance(v, (int, float)) for v in values):
            frame[f"params.{key}"] = np.concatenate(
                [np.full(length, np.nan if b["params"].get(key) is None else float(b["params"][key])) for b, length in zip(blocks, lengths)])
        else:
            names = sorted({str(v) for v in values if v is not None})
            frame[f"params.{key}"] = category(per_block_codes(
                lambda b: -1 if b["params"].get(key) is None else names.index(str(b["params"][key]))), names)
    frame["source"] = category(run_codes, [f"results/{date}/{date.replace('-', '')}T010000Z-{r}/records.jsonl" for r in fleet.rack_names])
    return pd.DataFrame(frame)


def write_records(frame: pd.DataFrame, out: pathlib.Path) -> int:
    """The frame's rows as real records files, one run folder per run_id, with finished manifests."""
    rows = 0
    for run_id, part in frame.groupby("run_id", observed=True):
        folder = out / str(run_id)
        folder.mkdir(parents=True)
        with (folder / "records.jsonl").open("w") as f:
            for row in part.to_dict("records"):
                record = {"schema": 1, "device": None, "stats": None, "params": {}, "telemetry": None,
                          "correct": {"ok": True, "detail": "sampled outputs within tolerance"}, "criterion": None}
                for key, value in row.items():
                    if key == "source" or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
                        continue
                    value = value.item() if isinstance(value, np.generic) else value
                    if key == "time":
                        value = value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
                    top, _, sub = key.partition(".")
                    if sub:
                        if sub == "sizes":
                            value = json.loads(value)
                        elif isinstance(value, float) and value.is_integer() and top in ("params", "device"):
                            value = int(value)
                        record[top] = dict(record.get(top) or {}, **{sub: value})
                    else:
                        record[key] = int(value) if key in ("rank", "schema") else value
                if record["device"] is not None:
                    record["device"] = {"index": record["device"].get("index"), "name": record["device"].get("name"),
                                        "serial": record["device"].get("serial"), "uuid": None}
                f.write(json.dumps(record) + "\n")
                rows += 1
        (folder / "manifest.json").write_text(json.dumps({"run_id": str(run_id), "status": "finished", "schema": 1}))
    return rows


def compare_child(args) -> None:
    """In a child process: the comparisons over the full history, timed, and this process's peak memory."""
    os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[:2]))
    from rackqual import fleet

    config = {"threads": 2, "memory_limit": args.memory_limit}
    h = args.history
    out = {"load_before": os.getloadavg()[0]}
    t, c = time.perf_counter(), cpu_s()
    nights = fleet.compare(h, h, old_dates=[NIGHTS[0]], new_dates=[NIGHTS[1]], config=config)
    out["night_vs_night_s"], out["night_vs_night_cpu_s"] = time.perf_counter() - t, cpu_s() - c
    t, c = time.perf_counter(), cpu_s()
    own = fleet.compare(h, h, config=config)
    out["own_history_s"], out["own_history_cpu_s"] = time.perf_counter() - t, cpu_s() - c
    out["compare_vmhwm_mib"] = vmhwm_mib()
    out["load_after"] = os.getloadavg()[0]
    if args.suspects:
        t, c = time.perf_counter(), cpu_s()
        ranked = fleet.suspects(h, h, config=config)
        out["suspects_s"], out["suspects_cpu_s"] = time.perf_counter() - t, cpu_s() - c
        out["suspects"] = len(ranked)
        out["suspects_top"] = ranked.head(3)[["subject", "score"]].to_dict("records")
    out["vmhwm_mib"] = vmhwm_mib()
    out["regressions"] = len(nights)
    out["found"] = sorted({(c, s) for c, s in zip(nights["check"], nights["subject"])})
    out["own_equal"] = sorted(zip(own["check"], own["subject"], own["metric"])) == sorted(zip(nights["check"], nights["subject"], nights["metric"]))
    print(json.dumps(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=1_000_000)
    parser.add_argument("--hosts-per-rack", type=int, default=4)
    parser.add_argument("--sample-racks", type=int, default=300, help="racks of night 1 ingested from real records files")
    parser.add_argument("--work", type=pathlib.Path, help="folder for the history (default: a temporary one, removed)")
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB's memory limit in the comparison")
    parser.add_argument("--suspects", action="store_true", help="also time the ranked suspects over the full history")
    parser.add_argument("--child-compare", dest="history", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.history:
        compare_child(args)
        return 0

    from rackqual import history

    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix="fleet-history-"))
    shutil.rmtree(work / "history", ignore_errors=True)
    shutil.rmtree(work / "sample", ignore_errors=True)
    h = work / "history"
    fleet = Fleet(args.gpus, args.hosts_per_rack)
    print(f"fleet: {fleet.gpus:,} GPUs, {fleet.hosts:,} hosts, {fleet.racks:,} racks of {args.hosts_per_rack} hosts; "
          f"history in {h}", flush=True)

    records, sample = 0, None
    for night in range(len(NIGHTS)):
        t = time.perf_counter()
        frame = night_frame(fleet, night)
        made = time.perf_counter() - t
        if night == 0:
            racks = set(fleet.rack_names[: args.sample_racks])
            sample = frame[frame["rack"].isin(racks)].reset_index(drop=True)
        t = time.perf_counter()
        summary = history.ingest(frame, h)
        took = time.perf_counter() - t
        records += summary.records
        print(f"night {NIGHTS[night]}: {len(frame):,} records generated in {made:.1f} s; ingested in {took:.1f} s "
              f"({summary.records / took:,.0f} records/s, {len(summary.runs_added):,} runs, {summary.files:,} files)", flush=True)
        del frame
    size = sum(f.stat().st_size for f in h.rglob("*.parquet"))
    print(f"history: {records:,} records, {size / MIB:,.0f} MiB of Parquet", flush=True)

    # The JSON path on a sample: real records files, rackqual.load, the same stored figures.
    tree = work / "sample" / "results"
    t = time.perf_counter()
    lines = write_records(sample, tree)
    wrote = time.perf_counter() - t
    t = time.perf_counter()
    summary = history.ingest(tree, work / "sample" / "history")
    took = time.perf_counter() - t
    again = history.ingest(tree, work / "sample" / "history")
    runs = sorted(summary.runs_added)
    con = history.connect(h)
    want = con.execute("SELECT count(*), sum(value), count(DISTINCT device.serial) FROM records WHERE run_id IN "
                       "(SELECT unnest($1))", [runs]).fetchone()
    con.close()
    got = history.query(work / "sample" / "history", "SELECT count(*), sum(value), count(DISTINCT device.serial) FROM records")
    same = want[0] == got.iloc[0, 0] and abs(want[1] - got.iloc[0, 1]) <= 1e-9 * abs(want[1]) and want[2] == got.iloc[0, 2]
    print(f"sample: {lines:,} records of {len(runs)} racks written as JSON Lines in {wrote:.1f} s; ingested from disk in "
          f"{took:.1f} s ({summary.records / took:,.0f} records/s); re-ingest added {len(again.runs_added)} run(s), "
          f"{len(again.runs_present)} already there; same figures as the DataFrame path: {same}", flush=True)

    t = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child-compare", str(h), "--memory-limit", args.memory_limit,
                           *(["--suspects"] if args.suspects else [])], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        return 1
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    expected = {(c, s) for c, s in fleet.expected()}
    found = {tuple(x) for x in out["found"]}
    print(f"compare night {NIGHTS[0]} -> {NIGHTS[1]}: {out['night_vs_night_s']:.1f} s ({out['night_vs_night_cpu_s']:.1f} s of CPU); "
          f"against each GPU's own history: {out['own_history_s']:.1f} s ({out['own_history_cpu_s']:.1f} s of CPU; same "
          f"regressions: {out['own_equal']}); 2 threads, load average {out['load_before']:.1f} before, {out['load_after']:.1f} after")
    print(f"peak memory of the comparison process: {out['compare_vmhwm_mib']:,.0f} MiB (VmHWM; ru_maxrss of all "
          f"children so far {children:,.0f} MiB); its wall time with start-up {wall:.1f} s")
    if "suspects_s" in out:
        print(f"suspects: {out['suspects']:,} ranked in {out['suspects_s']:.1f} s ({out['suspects_cpu_s']:.1f} s of CPU), "
              f"top {out['suspects_top']}; peak memory {out['vmhwm_mib']:,.0f} MiB")
    print(f"regressions: {out['regressions']:,} figures of {len(found):,} subjects; planted {len(expected):,}; "
          f"missed {len(expected - found)}, false {len(found - expected)}")
    print(f"peak memory of this process (generation and ingest): {vmhwm_mib():,.0f} MiB")
    if not args.work:
        shutil.rmtree(work)
    ok = found == expected and out["own_equal"] and same and not again.runs_added
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
