"""Step-time attribution: the training step's time predicted from the figures the same run
measured on the same GPUs, and the gap between predicted and measured split into compute,
memory, communication, straggling and what stays unexplained.

The model, per step group (one transformer_step record of step_time_s: a node, rack, cluster or
NVLink domain training data-parallel), from the step's work per rank as rackqual._core.step_work
counts it (FLOPs, bytes through device memory, gradient bytes all-reduced):

- compute_s = flops / GEMM TFLOP/s. The GEMM measured on the step's own GPUs (its ranks, from the
  record's arrival; else the GPUs of its host, rack or run), at the step's dtype where a GEMM of
  that dtype ran, else the closest dtype; each GPU's best GEMM, then the slowest GPU, as a
  synchronous step waits for its slowest rank.
- memory_s = memory_bytes / HBM GB/s (hbm triad, else copy, else any op; slowest GPU likewise).
- comm_s = allreduce_bytes * 2(n-1)/n / busbw (nccl-tests' bus bandwidth convention; n the step
  group's ranks), busbw from the all-reduce over the same ranks (else the smallest group that holds
  them, else any of the run) at the measured message size nearest the gradient bytes.
- predicted_s = compute_s + memory_s + comm_s: kernels in sequence, each at its own measured
  roofline, and the all-reduce not hidden behind the backward pass (an upper bound where it is).

The gap (measured_s - predicted_s) is attributed with the step's measured phases:
- compute and memory: (forward_s + backward_s + optimizer_s) - (compute_s + memory_s), split in
  proportion to the predicted compute_s and memory_s (each kernel class assumed as far off its
  roofline as the other).
- straggling: how much later the group's latest rank reaches a step than the first (the arrival's
  latest_late_s per launch: the harness aligns ranks before each timed step, so the unevenness
  shows there); in training the others spend it waiting in the all-reduce, so it is counted out of
  the exposed all-reduce's excess, never more than that excess.
- communication: allreduce_s - comm_s - straggling (negative where overlap hid some of it).
- unexplained: the rest, i.e. step time outside every measured phase (launch overheads,
  synchronisation, a rank stalled between phases), or the whole gap when the phases are missing.
A negative component means that part ran faster than its microbenchmark predicts. Every figure
missing for a part of the prediction leaves that part NaN and says so in `note`.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from rackqual import _core
from rackqual.frames import bytes_text, column, json_value, size_of, tidy, to_number

PHASES = ("forward_s", "backward_s", "allreduce_s", "optimizer_s")
COMPONENTS = ("compute", "memory", "communication", "straggling", "unexplained")
# Closeness of dtypes when the step's own was not measured: neighbours in precision, as the
# harness orders its element types.
DTYPE_ORDER = _core.DTYPES_BY_PRECISION
# Scopes from narrow to wide, to prefer the narrowest all-reduce that holds the step's ranks.
SCOPE_ORDER = ("gpu", "node", "nvlink_domain", "rack", "cluster")

StepWork = Callable[[dict, int], dict]


def _not_probe(df: pd.DataFrame) -> pd.Series:
    """Records of the groups the suite asked for, not isolation's probes over sub-groups."""
    probe = column(df, "isolation.probe")
    members = column(df, "isolation.members")
    return probe.isna().to_numpy() & members.isna().to_numpy()


def _step_params(row: pd.Series) -> dict:
    """The step record's params as the kind declared them: whole numbers as int, the rest as text."""
    params = {}
    for name, value in row.items():
        if not str(name).startswith("params.") or value is None or value is pd.NA:
            continue
        if isinstance(value, float):
            if math.isnan(value):
                continue
            value = int(value) if value.is_integer() else value
        elif not isinstance(value, (int, str)):
            value = str(value)
        params[str(name)[len("params."):]] = value
    return params


def _ranks_of(row: pd.Series) -> list[int]:
    late = json_value(row.get("arrival.late_s"))
    if isinstance(late, dict):
        return sorted(int(k) for k in late)
    return []


def _gpu_of(gpus: pd.DataFrame, rank: int) -> str:
    hit = gpus[gpus["rank"] == rank]
    if hit.empty:
        return f"rank {rank}"
    g = hit.iloc[0]
    return f"{g['host']}:{int(g['device.index'])}" if not pd.isna(g["device.index"]) else str(g["host"])


def _members(step: pd.Series, gpus: pd.DataFrame) -> tuple[list[int], str]:
    """The step group's world ranks, and how they were found."""
    ranks = _ranks_of(step)
    if ranks:
        return ranks, "arrival"
    scope, group = str(step.get("scope")), str(step.get("group"))
    own = [int(step["rank"])] if pd.notna(step.get("rank")) else []
    if scope == "gpu":
        return own, "rank"
    by = {"node": "host", "nvlink_domain": "host", "rack": "rack"}.get(scope)
    pick = gpus[gpus[by].astype(str) == group] if by and by in gpus.columns else gpus
    ranks = sorted(set(int(r) for r in pick["rank"].dropna()))
    return (ranks or own), f"{scope} {group}"


def _closest_dtype(wanted: str, have: list[str]) -> str:
    if wanted in have:
        return wanted
    pos = {d: i for i, d in enumerate(DTYPE_ORDER)}
    w = pos.get(wanted, len(DTYPE_ORDER))
    return min(have, key=lambda d: (abs(pos.get(d, len(DTYPE_ORDER)) - w), d))


def _slowest_gpu(rows: pd.DataFrame, members: list[int], what: str) -> tuple[float, str]:
    """Each GPU's best figure among `rows` (one run's gpu-scope records of one metric), then the
    slowest of the step's GPUs (of every GPU in rows when none of its ranks was measured)."""
    if rows.empty:
        return math.nan, f"no {what} measured in the run"
    mine = rows[rows["rank"].isin(members)]
    whose = "the step's GPUs"
    if mine.empty:
        mine, whose = rows, "the run's GPUs (none of the step's measured)"
    best = mine.groupby("rank", observed=True)["value"].max()
    slowest = int(best.idxmin())
    host = mine[mine["rank"] == slowest].iloc[0]
    gpu = f"{host['host']}:{int(host['device.index'])}" if not pd.isna(host.get("device.index")) else str(host["host"])
    return float(best.min()), f"{what} on {gpu}, slowest of {len(best)} of {whose}"


def _gemm_rate(run: pd.DataFrame, members: list[int], dtype: str) -> tuple[float, str]:
    rows = run[(run["kind"] == "gemm") & (run["metric"] == "tflops")]
    rows = rows[np.isfinite(rows["value"].astype(float))]
    if rows.empty:
        return math.nan, "no gemm measured in the run"
    dtypes = sorted(set(str(d) for d in column(rows, "params.dtype").dropna()))
    if dtypes:
        pick = _closest_dtype(dtype, dtypes)
        rows = rows[column(rows, "params.dtype").astype(str) == pick]
        return _slowest_gpu(rows, members, f"gemm {pick}" + ("" if pick == dtype else f" (no {dtype} gemm)"))
    return _slowest_gpu(rows, members, "gemm")


def _hbm_rate(run: pd.DataFrame, members: list[int]) -> tuple[float, str]:
    rows = run[(run["kind"] == "hbm") & (run["metric"] == "gbps")]
    rows = rows[np.isfinite(rows["value"].astype(float))]
    ops = column(rows, "params.op").astype(str)
    for op in ("triad", "copy"):
        if (ops == op).any():
            return _slowest_gpu(rows[ops == op], members, f"hbm {op}")
    return _slowest_gpu(rows, members, "hbm")


def _busbw(run: pd.DataFrame, members: list[int], nbytes: float) -> tuple[float, float, str]:
    """busbw (GB/s) and the message size it was measured at, from the all-reduce over the step's
    ranks (else the narrowest group holding them, else any), at the size nearest `nbytes`."""
    rows = run[(run["kind"] == "allreduce") & (run["metric"] == "busbw_gbps")]
    rows = rows[np.isfinite(rows["value"].astype(float))]
    if rows.empty:
        return math.nan, math.nan, "no allreduce measured in the run"
    want = set(members)
    candidates = []
    for (scope, group), g in rows.groupby([rows["scope"].astype(str), rows["group"].astype(str)], observed=True):
        ranks = set()
        for _, r in g.iterrows():
            ranks.update(_ranks_of(r))
        if ranks == want:
            fit, label = 0, "the step's ranks"
        elif want <= ranks:
            fit, label = 1, f"{len(ranks)} ranks holding the step's"
        else:
            fit, label = 2, "other ranks than the step's"
        order = SCOPE_ORDER.index(scope) if scope in SCOPE_ORDER else len(SCOPE_ORDER)
        candidates.append((fit, order, len(ranks), scope, group, label, g))
    fit, _, _, scope, group, label, g = min(candidates, key=lambda c: c[:3])
    sizes = g["params.sizes"].map(size_of) if "params.sizes" in g.columns else pd.Series(math.nan, index=g.index)
    g = g.assign(size=sizes.to_numpy())
    g = g[np.isfinite(g["size"]) & (g["size"] > 0)]
    if g.empty:
        return math.nan, math.nan, f"allreduce {scope} {group}: no message size"
    target = nbytes if nbytes > 0 else 1.0
    # Nearest in log size; on a tie, the larger message (nearer bandwidth-bound).
    g = g.assign(distance=(np.log(g["size"]) - math.log(target)).abs())
    best = g.sort_values(["distance", "size"], ascending=[True, False]).iloc[0]
    return (float(best["value"]), float(best["size"]),
            f"allreduce {best['check']} over {scope} {group} ({label}) at {bytes_text(best['size'])}")


def _default_step_work() -> StepWork:
    from rackqual import _core
    return _core.step_work


# The columns of attribute's table, in order.
COLUMNS = ["run_id", "check", "scope", "group", "ranks", "dtype", "measured_s", *PHASES,
           "flops", "memory_bytes", "allreduce_bytes", "parameters",
           "gemm_tflops", "gemm_source", "hbm_gbps", "hbm_source", "busbw_gbps", "busbw_bytes", "busbw_source",
           "compute_s", "memory_s", "comm_s", "predicted_s", "straggle_s", "gap_s",
           *(f"gap_{c}_s" for c in COMPONENTS), "dominant", "note"]


def attribute(df: pd.DataFrame, step_work: StepWork | None = None) -> pd.DataFrame:
    """One row per training-step group of `df` (rackqual.load's frame): the measured step and
    phases, the work, the rates used and where they came from, the predicted components, the gap
    and its attribution (gap_compute_s, gap_memory_s, gap_communication_s, gap_straggling_s,
    gap_unexplained_s, which add up to gap_s), the dominant part and a note. Empty when the
    records hold no step."""
    if df.empty or "kind" not in df.columns or "metric" not in df.columns:
        return pd.DataFrame(columns=COLUMNS)
    df = tidy(df)
    work_of = step_work or _default_step_work()
    keep = _not_probe(df)
    rows = [_step_group(step, df[keep & (df["run_id"] == step["run_id"]).to_numpy()], work_of)
            for _, step in _steps(df, keep).iterrows()]
    out = pd.DataFrame(rows, columns=COLUMNS)
    for c in ("run_id", "check", "scope", "group"):
        out[c] = out[c].astype(str)
    return out


def _steps(df: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The step records with a finite step time, one per step group of the suite's own groups."""
    return df[keep & (df["kind"] == "transformer_step").to_numpy() & (df["metric"] == "step_time_s").to_numpy() &
              np.isfinite(df["value"].to_numpy(dtype=float, na_value=np.nan))]


def _step_group(step: pd.Series, run: pd.DataFrame, work_of: StepWork) -> dict:
    """attribute's row of one step record, from the records of its run (isolation's probes left out)."""
    gpus = run[run["device.index"].notna()] if "device.index" in run.columns else run.iloc[0:0]
    members, found_by = _members(step, gpus)
    n = max(1, len(members))
    params = _step_params(step)
    dtype = str(params.get("dtype", "fp32"))
    notes: list[str] = []
    work = _work(work_of, params, n, notes)
    phase = _phases(run, step)
    rates = _rates(run, members, n, dtype, work["allreduce_bytes"])
    predicted = _prediction(work, rates, n, notes)
    measured = float(step["value"])
    gap = measured - predicted["predicted_s"]
    straggle = _straggle(step, n, notes)
    parts = _gap_parts(phase, predicted, straggle, gap, notes)
    if found_by != "arrival":
        notes.append(f"ranks taken from {found_by}")
    return {"run_id": step["run_id"], "check": step["check"], "scope": step.get("scope"), "group": step["group"],
            "ranks": n, "dtype": dtype, "measured_s": measured, **phase, **work, **rates, **predicted,
            "straggle_s": straggle, "gap_s": gap, **{f"gap_{c}_s": parts[c] for c in COMPONENTS},
            "dominant": _dominant(parts, gap), "note": "; ".join(notes)}


def _work(work_of: StepWork, params: dict, n: int, notes: list[str]) -> dict[str, float]:
    """The step's work per rank as the model counts it; NaN, and a note, where it takes not the params."""
    try:
        work = work_of(params, n)
    except Exception as e:   # a step whose params the model does not take: say so, go on
        work = {}
        notes.append(f"step_work: {e}")
    return {k: to_number(work.get(k)) for k in ("flops", "memory_bytes", "allreduce_bytes", "parameters")}


def _phases(run: pd.DataFrame, step: pd.Series) -> dict[str, float]:
    """The step's measured phases (its check's and group's other metrics); NaN where not measured."""
    same = run[(run["check"] == step["check"]) & (run["group"] == step["group"])]
    phase = {p: math.nan for p in PHASES}
    for p in PHASES:
        v = same.loc[same["metric"] == p, "value"]
        if not v.empty:
            phase[p] = float(v.iloc[0])
    return phase


def _rates(run: pd.DataFrame, members: list[int], n: int, dtype: str, allreduce_bytes: float) -> dict:
    """The GEMM, HBM and all-reduce rates the prediction uses, each with where it came from."""
    tflops, gemm_source = _gemm_rate(run, members, dtype)
    gbps, hbm_source = _hbm_rate(run, members)
    if n > 1:
        busbw, busbw_bytes, busbw_source = _busbw(run, members, allreduce_bytes)
    else:
        busbw, busbw_bytes, busbw_source = math.nan, math.nan, "one rank: no all-reduce"
    return {"gemm_tflops": tflops, "gemm_source": gemm_source, "hbm_gbps": gbps, "hbm_source": hbm_source,
            "busbw_gbps": busbw, "busbw_bytes": busbw_bytes, "busbw_source": busbw_source}


def _prediction(work: dict[str, float], rates: dict, n: int, notes: list[str]) -> dict[str, float]:
    """compute_s, memory_s and comm_s at the measured rates, and their sum predicted_s; a note for
    each part that could not be predicted."""
    tflops, gbps, busbw = rates["gemm_tflops"], rates["hbm_gbps"], rates["busbw_gbps"]
    compute = work["flops"] / (tflops * 1e12) if tflops > 0 else math.nan
    memory = work["memory_bytes"] / (gbps * 1e9) if gbps > 0 else math.nan
    # nccl-tests' convention: a ring all-reduce moves 2(n-1)/n of the buffer through each rank's link.
    bus_bytes = work["allreduce_bytes"] * _core.allreduce_bus_factor(n) if n > 1 else 0.0
    comm = 0.0 if n <= 1 else (bus_bytes / (busbw * 1e9) if busbw > 0 else math.nan)
    for part, value, source in (("compute", compute, rates["gemm_source"]), ("memory", memory, rates["hbm_source"]),
                                ("communication", comm, rates["busbw_source"])):
        if math.isnan(value):
            notes.append(f"{part} not predicted: {source}")
    return {"compute_s": compute, "memory_s": memory, "comm_s": comm, "predicted_s": compute + memory + comm}


def _straggle(step: pd.Series, n: int, notes: list[str]) -> float:
    """How much later the group's latest rank reached a step than its first, per launch."""
    late = to_number(step.get("arrival.latest_late_s"))
    launches = to_number(step.get("timing.launches_per_batch"))
    straggle = 0.0 if n <= 1 else (late / launches if launches > 0 else late)
    if math.isnan(straggle):
        straggle = 0.0
        notes.append("no arrival times: straggling not measured")
    return straggle


def _gap_parts(phase: dict[str, float], predicted: dict[str, float], straggle: float, gap: float,
               notes: list[str]) -> dict[str, float]:
    """The gap split into COMPONENTS with the measured phases (see the module's description)."""
    compute, memory, comm = predicted["compute_s"], predicted["memory_s"], predicted["comm_s"]
    in_phases = phase["forward_s"] + phase["backward_s"] + phase["optimizer_s"]
    g = dict.fromkeys(COMPONENTS, math.nan)
    if not math.isnan(in_phases) and compute + memory > 0:
        share = compute / (compute + memory)
        g["compute"] = (in_phases - compute - memory) * share
        g["memory"] = (in_phases - compute - memory) * (1 - share)
    if not math.isnan(phase["allreduce_s"]) and not math.isnan(comm):
        excess = phase["allreduce_s"] - comm
        g["straggling"] = min(straggle, max(excess, 0.0))
        g["communication"] = excess - g["straggling"]
    else:
        g["straggling"] = straggle
    if any(math.isnan(phase[p]) for p in PHASES):
        notes.append("phases missing: " + ", ".join(p for p in PHASES if math.isnan(phase[p])))
    g["unexplained"] = gap - sum(v for k, v in g.items() if k != "unexplained" and not math.isnan(v))
    return g


def _dominant(parts: dict[str, float], gap: float) -> str:
    """The largest positive part of a positive gap; 'none' where the step was not slower than predicted."""
    positive = {k: v for k, v in parts.items() if not math.isnan(v) and v > 0}
    return max(positive, key=positive.get) if positive and gap > 0 else ("none" if gap <= 0 else "")


def explain(row: pd.Series) -> str:
    """One line for a step group: measured against predicted and where the gap went."""
    head = f"{row['check']} {row['group']} ({row['ranks']} ranks): measured {_ms(row['measured_s'])}"
    if math.isnan(row["predicted_s"]):
        return head + f", not predicted ({row['note']})"
    parts = ", ".join(f"{c} {_signed_ms(row[f'gap_{c}_s'])}" for c in COMPONENTS if not math.isnan(row[f"gap_{c}_s"]))
    lead = f"; mostly {row['dominant']}" if row["dominant"] not in ("", "none") else ""
    return (head + f", predicted {_ms(row['predicted_s'])} (compute {_ms(row['compute_s'])}, memory "
            f"{_ms(row['memory_s'])}, all-reduce {_ms(row['comm_s'])}); gap {_signed_ms(row['gap_s'])}: {parts}{lead}")


def _ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1e3:.3g} ms"


def _signed_ms(seconds: float) -> str:
    return "n/a" if math.isnan(seconds) else f"{seconds * 1e3:+.3g} ms"
