"""The console summary of a set of results, and the selections the HTML report shares with it:
verdict counts, culprits first, then what failed, the step time's attribution, skipped lines."""
from __future__ import annotations

import pandas as pd

from rackqual import attribution
# The frame helpers, also importable from here as they always were.
from rackqual.frames import NUMERIC, column, number, text, tidy  # noqa: F401

VERDICTS = ("pass", "warn", "fail", "error", "skip")
# Order of the problems a crew reads: isolation's culprits, then failures, errors, warnings.
PROBLEM_ORDER = {"culprit": 0, "fail": 1, "error": 2, "warn": 3}


def is_probe(df: pd.DataFrame) -> pd.Series:
    """Isolation's probe records: measurements over sub-groups, evidence for a culprit."""
    return (column(df, "isolation.probe").notna() | column(df, "isolation.members").notna()) & \
        column(df, "isolation.culprit").isna()


def is_culprit(df: pd.DataFrame) -> pd.Series:
    return column(df, "isolation.culprit").notna()


def verdict_counts(df: pd.DataFrame) -> dict[str, int]:
    counts = column(df, "verdict").astype("string").value_counts()
    out = {v: int(counts.get(v, 0)) for v in VERDICTS}
    for v, n in counts.items():   # a verdict this version does not know is still counted
        if v not in out:
            out[str(v)] = int(n)
    return out


def where(row: pd.Series) -> str:
    """Who a record is about: a culprit's host or link, a GPU (host, slot, serial), or a group."""
    culprit = text(row.get("isolation.culprit"))
    if culprit:
        member, peer = text(row.get("isolation.member")), text(row.get("isolation.peer"))
        return f"link {member} <-> {peer}" if peer else member
    host, index, serial = text(row.get("host")), row.get("device.index"), text(row.get("device.serial"))
    if text(index):
        gpu = f"{host} GPU {int(float(index))}"
        return gpu + (f" (serial {serial})" if serial else "")
    scope, group = text(row.get("scope")), text(row.get("group"))
    if scope and scope != "gpu":
        return f"{scope} {group}"
    return host or group


def problems(df: pd.DataFrame) -> pd.DataFrame:
    """Culprit records first, then fail, error and warn records (isolation's probes left out),
    each with `problem` (its class) and `where`."""
    if df.empty or "verdict" not in df.columns:
        return df.assign(problem=pd.Series(dtype="object"), where=pd.Series(dtype="object"))
    culprit = is_culprit(df)
    verdict = column(df, "verdict").astype("string")
    kind = pd.Series("", index=df.index, dtype="object")
    kind[verdict.isin(["fail", "error", "warn"]).fillna(False).to_numpy() & ~is_probe(df).to_numpy()] = verdict
    kind[culprit.to_numpy()] = "culprit"
    out = df[kind != ""].assign(problem=kind[kind != ""])
    out = out.assign(where=[where(r) for _, r in out.iterrows()] if len(out) else [],
                     _order=out["problem"].map(PROBLEM_ORDER))
    by = ["_order"] + [c for c in ("time", "check", "rank") if c in out.columns]
    return out.sort_values(by, kind="stable").drop(columns="_order")


def skipped(df: pd.DataFrame) -> list[dict]:
    return list(df.attrs.get("skipped") or [])


def attribution_or_reason(df: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """The step-time attribution, or why there is none (no step, or the compiled model missing)."""
    try:
        table = attribution.attribute(df)
    except ImportError as e:
        return None, f"step-time attribution needs rackqual._core.step_work ({e})"
    if table.empty:
        return None, "no training step in these results"
    return table, ""


def summary(df: pd.DataFrame, *, limit: int = 10) -> str:
    """A few lines for the console: runs, verdict counts, culprits, then what failed, the step
    time's attribution, and how many lines of the record files were skipped."""
    df = tidy(df)
    lines = []
    runs = column(df, "run_id").dropna().astype(str).unique()
    hosts = column(df, "host").dropna().astype(str).unique()
    suites = ", ".join(sorted(column(df, "suite").dropna().astype(str).unique())) or "?"
    backends = ", ".join(sorted(column(df, "backend").dropna().astype(str).unique())) or "?"
    lines.append(f"rackqual: {len(df)} records from {len(runs)} run(s), suite {suites}, backend {backends}, "
                 f"{len(hosts)} host(s)")
    counts = verdict_counts(df)
    lines.append("verdicts: " + ", ".join(f"{n} {v}" for v, n in counts.items()))
    probs = problems(df)
    if probs.empty:
        lines.append("nothing failed")
    for label, sel in (("culprits", probs["problem"] == "culprit"),
                       ("failed", probs["problem"].isin(["fail", "error"])),
                       ("warnings", probs["problem"] == "warn")):
        chosen = probs[sel.to_numpy()]
        if chosen.empty:
            continue
        lines.append(f"{label} ({len(chosen)}):")
        for _, r in chosen.head(limit).iterrows():
            figure = "" if r["problem"] == "culprit" else " " + number(r.get("value"), text(r.get("unit")))
            what = " ".join(x for x in (text(r.get("check")), text(r.get("metric"))) if x)
            lines.append(f"  {r['problem']:7} {what} {r['where']}{figure}: {text(r.get('reason'))}")
        if len(chosen) > limit:
            lines.append(f"  ... and {len(chosen) - limit} more")
    table, reason = attribution_or_reason(df)
    if table is not None:
        lines.append("step time:")
        for _, r in table.head(limit).iterrows():
            lines.append("  " + attribution.explain(r))
        if len(table) > limit:
            lines.append(f"  ... and {len(table) - limit} more step groups")
    elif "_core" in reason:
        lines.append(reason)
    skip = skipped(df)
    if skip:
        first = "; ".join(f"{s.get('file')}:{s.get('line')}: {s.get('reason')}" for s in skip[:3])
        lines.append(f"skipped {len(skip)} unreadable line(s): {first}" + (" ..." if len(skip) > 3 else ""))
    return "\n".join(lines)
