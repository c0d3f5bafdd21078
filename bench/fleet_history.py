#!/usr/bin/env python3
"""Fleet history at scale: a night of suites/nightly.yaml on a synthetic fleet of 1,000,000 GPUs
(125,000 hosts x 8, one run per rack) ingested from its records files and compared against the
previous night, within 60 s and 8 GiB on 2 cores.

    RACKQUAL_BUILD=build python bench/fleet_history.py [--gpus 1000000] [--hosts-per-rack 4] [--work DIR]
        [--keep-nights] [--cold] [--suspects]

Both nights are written first as real records files, a run folder per rack with its manifest, the
lines as `rackqual run` writes them (keys sorted, no spaces; not timed: about 5 GiB a night). Then
the real commands run, each in a process of its own: `rackqual ingest` of the first night,
`rackqual ingest` of the second, and `rackqual compare HISTORY HISTORY` of the second night
against the first, its regressions written as CSV. The files are read as the writing left them
(what the page cache still holds of 10 GiB); --cold drops the kernel's page cache before each
command (as root), so that every file, the Python libraries included, comes from the disk. The figure against the target
is the second night's ingest plus the comparison: wall time, and the peak resident memory of the
larger of the two. --suspects also times rackqual.fleet.suspects over the whole history in a
child process (its VmHWM), against 10 s and 2 GiB.

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
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

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


def _text(column: pd.Series) -> pa.Array:
    """A frame's column as Arrow text (categories as their strings)."""
    return pa.array(column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column, pa.string())


def _json_text(column: pd.Series) -> pa.Array:
    """A text column as JSON strings (the fleet's names need no escaping)."""
    return pc.binary_join_element_wise('"', _text(column), '"', "")


def _number(values: np.ndarray) -> pa.Array:
    return pa.array(values).cast(pa.string())


def _params(part: pd.DataFrame) -> pa.Array:
    """Each row's params object, keys sorted, as rackqual writes it."""
    keys = sorted(c for c in part.columns if c.startswith("params."))
    combos = part[keys].astype(object).where(part[keys].notna(), None)
    codes, uniques = pd.factorize(pd.MultiIndex.from_frame(combos))
    texts = []
    for combo in uniques:
        obj = {}
        for key, value in zip(keys, combo):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            name = key[len("params."):]
            obj[name] = json.loads(value) if name == "sizes" else int(value) if isinstance(value, float) else value
        texts.append(json.dumps(obj, sort_keys=True, separators=(",", ":")))
    return pa.array(texts, pa.string()).take(pa.array(codes))


def record_lines(part: pd.DataFrame) -> pa.Array:
    """The frame's rows as the lines rackqual run writes (keys sorted, no spaces), newline included."""
    n = len(part)
    value = part["value"].to_numpy()
    gpu = part["device.index"].notna().to_numpy()
    device = pc.if_else(pa.array(gpu), pc.binary_join_element_wise(
        '{"index":', _number(np.nan_to_num(part["device.index"].to_numpy()).astype(np.int64)), f',"name":"{MODEL}","serial":"',
        _text(part["device.serial"]), '","uuid":"GPU-', _text(part["device.serial"]), '"}', ""), "null")
    power = part["telemetry.avg_power_w"].to_numpy()
    temperature = 55 + (value * 1000 % 17)
    telemetry = pc.if_else(pa.array(gpu), pc.binary_join_element_wise(
        '{"avg_power_w":', _number(np.nan_to_num(power)), ',"max_temp_c":', _number(np.round(temperature, 1)),
        ',"sm_clock_mhz":1980,"throttle":"none"}', ""), "null")
    stats = pc.binary_join_element_wise(
        '{"cv":0.004,"max":', _number(value * 1.005), ',"median":', _number(value), ',"min":', _number(value * 0.995),
        ',"n":7,"p10":', _number(value * 0.997), ',"p90":', _number(value * 1.003), ',"p95":', _number(value * 1.004), "}", "")
    times = np.datetime_as_string(part["time"].dt.tz_convert(None).to_numpy().astype("datetime64[ms]"), unit="ms")
    pieces = [
        '{"arrival":null,"backend":"cuda","better":', _json_text(part["better"]), ',"check":', _json_text(part["check"]),
        ',"correct":{"detail":"sampled outputs within bf16 tolerance of a float reference","ok":true},"criterion":',
        pc.binary_join_element_wise('"', _text(part["metric"]), ': {min_fraction_of_group_median: 0.95}"', ""),
        ',"device":', device, ',"digests":null,"group":', _json_text(part["group"]), ',"host":', _json_text(part["host"]),
        ',"isolation":null,"kind":', _json_text(part["kind"]), ',"metric":', _json_text(part["metric"]),
        ',"params":', _params(part), ',"rack":', _json_text(part["rack"]), ',"rank":', _number(part["rank"].to_numpy()),
        ',"reason":"', _number(np.round(value, 4)), ' within the group\'s median","run_id":', _json_text(part["run_id"]),
        ',"schema":1,"scope":', _json_text(part["scope"]), ',"stats":', stats, ',"suite":"nightly","telemetry":', telemetry,
        ',"time":"', pa.array(times), 'Z","timing":{"batches_per_repetition":4,"launches_per_batch":2,"repetitions":7}',
        ',"unit":', _json_text(part["unit"]), ',"value":', _number(value), ',"verdict":"pass"}\n']
    return pc.binary_join_element_wise(*[p if isinstance(p, pa.Array) else pa.scalar(p) for p in pieces], "")


def write_records(frame: pd.DataFrame, out: pathlib.Path, racks_at_once: int = 2000) -> tuple[int, int]:
    """The frame's rows as real records files, one run folder per rack with a finished manifest,
    as `rackqual run` leaves them; returns (records, bytes)."""
    rack = frame["rack"].cat.codes.to_numpy()
    order = np.argsort(rack, kind="stable")
    bounds = np.searchsorted(rack[order], np.arange(rack.max() + 2))
    records = size = 0
    for first in range(0, len(bounds) - 1, racks_at_once):
        last = min(first + racks_at_once, len(bounds) - 1)
        part = frame.iloc[order[bounds[first]:bounds[last]]]
        lines = pa.concat_arrays([record_lines(part).cast(pa.large_string())]) if len(part) else None
        offsets = np.frombuffer(lines.buffers()[1], np.int64)[: len(lines) + 1]
        data = memoryview(lines.buffers()[2])
        runs = part["run_id"].astype(str).to_numpy()
        starts = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1]])
        for a, b in zip(starts, np.r_[starts[1:], len(runs)]):
            folder = out / runs[a]
            folder.mkdir(parents=True)
            (folder / "records.jsonl").write_bytes(data[offsets[a]:offsets[b]])
            (folder / "manifest.json").write_text(json.dumps({"run_id": runs[a], "schema": 1, "status": "finished",
                                                              "suite": "nightly"}))
        records += len(part)
        size += int(offsets[-1])
    return records, size


def measured(command: list[str], env: dict[str, str]) -> dict:
    """Runs a command; its wall time, CPU time and peak resident memory (the largest of it and the
    processes it waited for: the rackqual executable becomes the Python process it starts)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall": wall, "cpu": cpu, "maxrss_mib": after.ru_maxrss / 1024, "code": proc.returncode,
            "stdout": proc.stdout, "stderr": proc.stderr}


def in_child(command: list[str], env: dict[str, str]) -> dict:
    """`measured` in a child of its own, so that the peak memory is this command's alone."""
    proc = subprocess.run([sys.executable, __file__, "--measure", json.dumps(command)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    return json.loads(proc.stdout)


def drop_page_cache() -> bool:
    """Empties the kernel's page cache (root only), so that the files are read from the disk."""
    os.sync()
    try:
        pathlib.Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def suspects_child(history: str) -> None:
    """In a child process: the ranked suspects over the whole history, timed, with its peak memory."""
    from rackqual import fleet

    t, c = time.perf_counter(), cpu_s()
    ranked = fleet.suspects(history, history, config={"threads": 2})
    print(json.dumps({"wall": time.perf_counter() - t, "cpu": cpu_s() - c, "vmhwm_mib": vmhwm_mib(), "suspects": len(ranked),
                      "top": ranked.head(3)[["subject", "score"]].to_dict("records")}))


def found_regressions(csv: pathlib.Path) -> set[tuple[str, str]]:
    found = pd.read_csv(csv) if csv.stat().st_size else pd.DataFrame(columns=["check", "subject"])
    return {(c, s) for c, s in zip(found["check"], found["subject"])}


def write_nights(fleet: Fleet, work: pathlib.Path) -> list[pathlib.Path]:
    """Both nights as records files, a run folder per rack (not timed)."""
    trees = []
    for night, date in enumerate(NIGHTS):
        t = time.perf_counter()
        frame = night_frame(fleet, night)
        tree = work / "results" / date
        shutil.rmtree(tree, ignore_errors=True)
        records, size = write_records(frame, tree)
        del frame
        print(f"night {date}: {records:,} records, {size / GIB:.2f} GiB of JSON Lines in {fleet.racks:,} run folders, "
              f"written in {time.perf_counter() - t:.0f} s (not timed)", flush=True)
        trees.append(tree)
    return trees


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, default=1_000_000)
    parser.add_argument("--hosts-per-rack", type=int, default=4)
    parser.add_argument("--work", type=pathlib.Path, help="folder for the nights and the history (default: a temporary one, removed)")
    parser.add_argument("--keep-nights", action="store_true", help="reuse the nights' records files already under --work")
    parser.add_argument("--cold", action="store_true", help="drop the page cache before each command (root)")
    parser.add_argument("--suspects", action="store_true", help="also time the ranked suspects over the full history")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--child-suspects", dest="history", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measured(json.loads(args.measure), dict(os.environ))))
        return 0
    if args.history:
        suspects_child(args.history)
        return 0

    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix="fleet-history-"))
    fleet = Fleet(args.gpus, args.hosts_per_rack)
    print(f"fleet: {fleet.gpus:,} GPUs, {fleet.hosts:,} hosts, {fleet.racks:,} racks of {args.hosts_per_rack} hosts; "
          f"work in {work}; {len(os.sched_getaffinity(0))} cores", flush=True)
    trees = [work / "results" / d for d in NIGHTS] if args.keep_nights and all((work / "results" / d).is_dir() for d in NIGHTS) \
        else write_nights(fleet, work)
    h = work / "history"
    shutil.rmtree(h, ignore_errors=True)
    binary = os.environ.get("RACKQUAL_BIN", str(ROOT / os.environ.get("RACKQUAL_BUILD", "build") / "rackqual"))
    env = dict(os.environ)
    steps = {}
    for name, command in [("ingest " + NIGHTS[0], [binary, "ingest", str(trees[0]), "--into", str(h)]),
                          ("ingest " + NIGHTS[1], [binary, "ingest", str(trees[1]), "--into", str(h)]),
                          ("compare", [binary, "compare", str(h), str(h), "--old-date", NIGHTS[0], "--new-date", NIGHTS[1],
                                       "--csv", str(work / "regressions.csv")])]:
        cache = ("page cache dropped" if drop_page_cache() else "page cache NOT dropped (not root)") if args.cold else "page cache as left"
        steps[name] = out = in_child(command, env)
        print(f"{name}: {out['wall']:.1f} s wall, {out['cpu']:.1f} s of CPU, peak {out['maxrss_mib'] / 1024:.2f} GiB, "
              f"exit {out['code']}, {cache}: {out['stdout'].strip().splitlines()[-1]}", flush=True)
        if out["code"] not in (0, 1):
            print(out["stderr"], file=sys.stderr)
            return 1
    timed = steps["ingest " + NIGHTS[1]]["wall"] + steps["compare"]["wall"]
    peak = max(steps["ingest " + NIGHTS[1]]["maxrss_mib"], steps["compare"]["maxrss_mib"]) / 1024
    size = sum(f.stat().st_size for f in h.rglob("*.parquet"))
    print(f"the night: ingest + compare {timed:.1f} s wall (target 60 s), peak {peak:.2f} GiB (target 8 GiB); "
          f"history {size / MIB:,.0f} MiB of Parquet", flush=True)

    expected = fleet.expected()
    found = found_regressions(work / "regressions.csv")
    print(f"regressions: {len(found):,} subjects; planted {len(expected):,}; missed {len(expected - found)}, "
          f"false {len(found - expected)} (re-slotted GPUs: {len(fleet.slot_serial[1]) - int((fleet.slot_serial[1] == np.arange(fleet.gpus)).sum()):,})")
    ok = found == expected and timed <= 60 and peak <= 8
    if args.suspects:
        proc = subprocess.run([sys.executable, __file__, "--child-suspects", str(h)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"suspects: {out['suspects']:,} ranked in {out['wall']:.1f} s ({out['cpu']:.1f} s of CPU), peak "
              f"{out['vmhwm_mib'] / 1024:.2f} GiB (targets 10 s, 2 GiB); top {out['top']}")
        ok = ok and out["wall"] <= 10 and out["vmhwm_mib"] <= 2048
    if not args.work:
        shutil.rmtree(work)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
