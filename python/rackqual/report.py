"""The HTML report of a set of results: one self-contained file (plotly.js inline, nothing fetched)
for the ticket a bring-up crew files or the page a fleet engineer opens.

Sections: the verdicts with the culprits first, then what failed; a heatmap per rack of each key
GPU figure by host and GPU slot; each judged figure's distribution with its thresholds; all-reduce
bus bandwidth against message size; the training step's phases, its predicted time and the gap's
attribution (rackqual.attribution); regressions against a history (rackqual.fleet.compare) when
one is given; and the record-file lines the loader skipped.

python -m rackqual report RESULTS -o report.html [--history HISTORY] prints the console summary
(rackqual.summary) and writes the file; exit 0 once written, whatever the verdicts, 2 on bad input.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import pathlib
import re
import warnings
from dataclasses import dataclass, field

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.offline
from plotly.subplots import make_subplots

import rackqual
from rackqual import _core, attribution
from rackqual.errors import EXIT_BAD_INPUT, EXIT_PASS, ArgumentParser, BadInput, first_line, refuse
from rackqual.frames import bytes_text, column, number, size_of, text, tidy
from rackqual.summary import (VERDICTS, attribution_or_reason, is_culprit, is_probe, problems, skipped, summary,
                              verdict_counts, where)

__all__ = ["build", "write", "summary", "cli", "BadInput"]

# The page's template: reports/templates in a source checkout, data/templates beside an installed package.
TEMPLATE = "report.html.j2"
TEMPLATE_DIRS = (pathlib.Path(__file__).resolve().parent / "data" / "templates",
                 pathlib.Path(__file__).resolve().parents[2] / "reports" / "templates")
VERDICT_COLOURS = {"pass": "#2e7d32", "warn": "#ef8f00", "fail": "#c62828", "error": "#6a1b9a", "skip": "#78909c"}
PART_COLOURS = {"compute": "#1f77b4", "memory": "#17becf", "communication": "#ff7f0e", "straggling": "#d62728",
                "unexplained": "#7f7f7f", "optimizer": "#9467bd"}
BOUND_KEYS = ("min", "max", "warn_below", "warn_above")
HEATMAP_RACKS_PER_ROW = 4
TABLE_ROWS = 200
PLOT_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass
class Figure:
    """One plot of the report: its title, a line saying how to read it, and its HTML."""
    id: str
    title: str
    caption: str
    html: str


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    classes: list[str] = field(default_factory=list)   # a CSS class per row
    more: int = 0                                      # rows left out


# ---------------------------------------------------------------------------------------------
# Helpers


def _slug(*parts) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(str(p) for p in parts).lower()).strip("-")


def _html(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)


def _finite(df: pd.DataFrame) -> pd.DataFrame:
    values = pd.to_numeric(column(df, "value"), errors="coerce")
    return df[np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))]


def _measured(df: pd.DataFrame) -> pd.DataFrame:
    """Records of the suite's own groups with a finite figure: no culprit or probe records."""
    return _finite(df[(~is_probe(df) & ~is_culprit(df)).to_numpy()])


def _table(frame: pd.DataFrame, columns: dict[str, object], classes: pd.Series | None = None,
           limit: int = TABLE_ROWS) -> Table:
    """A table of `frame`: columns maps a heading to a column name or a function of the row."""
    rows = []
    for _, r in frame.head(limit).iterrows():
        rows.append([text(f(r) if callable(f) else r.get(f)) for f in columns.values()])
    cls = [text(c) for c in classes.head(limit)] if classes is not None else [""] * len(rows)
    return Table(list(columns), rows, cls, max(0, len(frame) - limit))


def _bounds(judged: pd.DataFrame) -> dict[str, set[float]]:
    """Thresholds of judged records: absolute bounds from the criterion as written, and bounds
    resolved from platform peaks as the reasons state them (`< min 2900 (...)`, `>= min ...`)."""
    found: dict[str, set[float]] = {}
    number_re = r"(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)"
    for criterion in column(judged, "criterion").dropna().astype(str).unique():
        for key, value in re.findall(r"\b(" + "|".join(BOUND_KEYS) + r"): " + number_re, criterion):
            found.setdefault(key, set()).add(float(value))
    for reason in column(judged, "reason").dropna().astype(str).unique():
        for key, value in re.findall(r"\b(" + "|".join(BOUND_KEYS) + r") " + number_re, reason):
            found.setdefault(key, set()).add(float(value))
    fractions = set()
    for criterion in column(judged, "criterion").dropna().astype(str).unique():
        fractions.update(float(v) for v in re.findall(r"min_fraction_of_group_median: " + number_re, criterion))
    if fractions:
        median = float(pd.to_numeric(judged["value"], errors="coerce").median())
        for f in fractions:
            found.setdefault(f"{f:g} x median", set()).add(f * median)
    return found


# ---------------------------------------------------------------------------------------------
# Sections


def _runs_table(df: pd.DataFrame) -> Table:
    rows = []
    for run_id, g in df.groupby(column(df, "run_id").astype(str), observed=True, sort=True):
        counts = verdict_counts(g)
        times = pd.to_datetime(column(g, "time"), errors="coerce", utc=True).dropna()
        rows.append([run_id, ", ".join(sorted(column(g, "suite").dropna().astype(str).unique())),
                     ", ".join(sorted(column(g, "backend").dropna().astype(str).unique())),
                     times.min().strftime("%Y-%m-%d %H:%M:%S UTC") if len(times) else "",
                     str(column(g, "host").dropna().nunique()), str(column(g, "rank").dropna().nunique()),
                     str(len(g)), ", ".join(f"{n} {v}" for v, n in counts.items() if n)])
    return Table(["run", "suite", "backend", "started", "hosts", "ranks", "records", "verdicts"], rows,
                 [""] * len(rows))


def _checks_table(df: pd.DataFrame) -> Table:
    rows, classes = [], []
    keys = [column(df, "check").astype(str), column(df, "kind").astype(str), column(df, "scope").astype(str)]
    for (check, kind, scope), g in df[~is_probe(df).to_numpy()].groupby(keys, observed=True, sort=True):
        counts = verdict_counts(g)
        worst = next((v for v in ("error", "fail", "warn") if counts.get(v)), "pass")
        criteria = "; ".join(sorted(column(g, "criterion").dropna().astype(str).unique()))
        rows.append([check, kind, scope, str(len(g)), *(str(counts.get(v, 0)) for v in VERDICTS), criteria])
        classes.append(worst)
    return Table(["check", "kind", "scope", "records", *VERDICTS, "criteria"], rows, classes)


def _problems_table(df: pd.DataFrame) -> Table:
    probs = problems(df)
    return _table(probs, {
        "": "problem", "check": "check", "metric": "metric", "where": "where",
        "figure": lambda r: "" if r["problem"] == "culprit" else number(r.get("value"), text(r.get("unit"))),
        "point": _point, "criterion": "criterion", "reason": "reason", "run": "run_id"},
        probs["problem"])


def _point(r: pd.Series) -> str:
    """A record's parameter point, as far as it varies within a check (its sweep size)."""
    size = text(r.get("params.sizes"))
    if size:
        try:
            return ", ".join(bytes_text(float(s)) for s in json.loads(size))
        except (ValueError, TypeError):
            return size
    return ""


def _probes_table(df: pd.DataFrame) -> Table:
    probes = df[is_probe(df).to_numpy() & column(df, "criterion").notna().to_numpy()]
    if probes.empty:
        return Table([], [])
    by = [c for c in ("run_id", "check", "isolation.probe") if c in probes.columns]
    probes = probes.sort_values(by)
    return _table(probes, {
        "probe": lambda r: text(r.get("isolation.probe")) and str(int(float(r["isolation.probe"]))),
        "purpose": "isolation.purpose", "members": lambda r: ", ".join(json.loads(r["isolation.members"]))
        if isinstance(r.get("isolation.members"), str) else text(r.get("isolation.members")),
        "check": "check", "figure": lambda r: number(r.get("value"), text(r.get("unit"))),
        "outcome": "isolation.outcome", "reason": "reason", "run": "run_id"},
        column(probes, "verdict").astype(str))


def _key_metrics(g: pd.DataFrame) -> list[str]:
    """A check's figures worth a heatmap: those its criteria judge, else its first metric."""
    judged = column(g, "metric")[column(g, "criterion").notna().to_numpy()].dropna().astype(str).unique()
    if len(judged):
        return sorted(judged)
    first = column(g, "metric").dropna().astype(str)
    return [first.iloc[0]] if len(first) else []


def _heatmaps(df: pd.DataFrame) -> list[Figure]:
    gpu = _measured(df)
    gpu = gpu[(column(gpu, "scope").astype(str) == "gpu").to_numpy() & column(gpu, "device.index").notna().to_numpy()]
    figures = []
    for check, g in gpu.groupby(column(gpu, "check").astype(str), observed=True, sort=True):
        for metric in _key_metrics(g):
            m = g[(g["metric"].astype(str) == metric).to_numpy()]
            if "time" in m.columns:
                m = m.sort_values("time")
            # Each GPU slot's latest figure.
            m = m.assign(_rack=column(m, "rack").astype(str).replace("nan", "?"), _host=m["host"].astype(str),
                         _slot=m["device.index"].astype(float).astype(int))
            # Each slot's verdicts over every run, so that a failure an earlier run saw stays visible.
            seen = m.groupby(["_rack", "_host", "_slot"])["verdict"].agg(
                lambda v: ", ".join(f"{n} {k}" for k, n in v.astype(str).value_counts().items()))
            m = m.drop_duplicates(["_rack", "_host", "_slot"], keep="last")
            m = m.assign(_verdicts=[seen[(a, b, c)] for a, b, c in zip(m["_rack"], m["_host"], m["_slot"])],
                         _runs=m["run_id"].nunique() if "run_id" in m.columns else 1)
            figures.append(_heatmap(check, metric, m))
    return figures


def _heatmap(check: str, metric: str, m: pd.DataFrame) -> Figure:
    racks = sorted(m["_rack"].unique())
    cols = min(len(racks), HEATMAP_RACKS_PER_ROW)
    nrows = math.ceil(len(racks) / cols)
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[f"rack {r}" for r in racks],
                        horizontal_spacing=0.06, vertical_spacing=0.12 / max(1, nrows - 1) if nrows > 1 else 0.1)
    unit = text(m["unit"].iloc[0]) if "unit" in m.columns else ""
    better = text(m["better"].iloc[0]) if "better" in m.columns else "higher"
    most_hosts = 1
    for i, rack in enumerate(racks):
        sub = m[m["_rack"] == rack]
        hosts = sorted(sub["_host"].unique())
        slots = sorted(sub["_slot"].unique())
        most_hosts = max(most_hosts, len(hosts))
        z = [[None] * len(slots) for _ in hosts]
        label = [[""] * len(slots) for _ in hosts]
        custom = [[[""] * 7 for _ in slots] for _ in hosts]
        for _, r in sub.iterrows():
            y, x = hosts.index(r["_host"]), slots.index(r["_slot"])
            z[y][x] = float(r["value"])
            verdict = text(r.get("verdict"))
            label[y][x] = f"{float(r['value']):.3g}" + ("" if verdict == "pass" else f" {verdict.upper()}")
            earlier = [k for k in ("fail", "error", "warn") if k in r["_verdicts"] and k != verdict]
            if earlier:
                label[y][x] += " (" + "/".join(earlier) + " before)"
            custom[y][x] = [r["_host"], str(r["_slot"]), text(r.get("device.serial")) or "unknown",
                            number(r["value"], unit), verdict, text(r.get("run_id")), r["_verdicts"]]
        fig.add_trace(go.Heatmap(
            z=z, x=[f"GPU {s}" for s in slots], y=hosts, text=label, texttemplate="%{text}", customdata=custom,
            coloraxis="coloraxis", xgap=2, ygap=2, name=f"rack {rack}",
            hovertemplate="<b>%{customdata[0]}</b> GPU %{customdata[1]}<br>serial %{customdata[2]}<br>"
                          f"{html.escape(metric)} %{{customdata[3]}}<br>verdict %{{customdata[4]}}<br>"
                          "run %{customdata[5]}; over the runs: %{customdata[6]}<extra></extra>"),
            row=i // cols + 1, col=i % cols + 1)
    scale = "RdYlGn" if better != "lower" else "RdYlGn_r"
    fig.update_layout(coloraxis={"colorscale": scale, "colorbar": {"title": unit}},
                      height=140 + nrows * (60 + 34 * most_hosts), margin={"l": 80, "r": 30, "t": 40, "b": 30},
                      template="plotly_white")
    fig.update_yaxes(autorange="reversed")
    return Figure(_slug("heatmap", check, metric), f"{check}: {metric} by host and GPU",
                  f"Each GPU slot's latest figure ({unit}, {better} is better); a cell marked FAIL/WARN/ERROR "
                  f"missed its criterion (then or in an earlier run). Hover for host, serial and figure.",
                  _html(fig, _slug("heatmap", check, metric)))


def _distributions(df: pd.DataFrame) -> list[Figure]:
    judged = _measured(df)
    judged = judged[column(judged, "criterion").notna().to_numpy()]
    figures = []
    keys = [judged["check"].astype(str), judged["metric"].astype(str)]
    for (check, metric), g in judged.groupby(keys, observed=True, sort=True):
        unit = text(g["unit"].iloc[0]) if "unit" in g.columns else ""
        fig = go.Figure()
        verdicts = g["verdict"].astype(str)
        for verdict in [v for v in VERDICTS if (verdicts == v).any()] + \
                       sorted(set(verdicts) - set(VERDICTS)):
            v = g[(verdicts == verdict).to_numpy()]
            fig.add_trace(go.Box(
                x=v["value"].astype(float), name=f"{verdict} ({len(v)})", orientation="h", boxpoints="all",
                jitter=0.5, pointpos=0, marker={"color": VERDICT_COLOURS.get(verdict, "#455a64"), "size": 7},
                line={"color": VERDICT_COLOURS.get(verdict, "#455a64")}, fillcolor="rgba(0,0,0,0.03)",
                customdata=[[where(r), text(r.get("run_id")), _point(r)] for _, r in v.iterrows()],
                hovertemplate="%{customdata[0]}<br>%{x:.4g} " + html.escape(unit) +
                              " %{customdata[2]}<br>run %{customdata[1]}<extra></extra>"))
        bounds = _bounds(g)
        span = [float(v) for v in g["value"]] + [v for values in bounds.values() for v in values]
        # Thresholds far from the figures (a 30 s limit on 30 ms steps): a log axis keeps both legible.
        log = min(span) > 0 and max(span) / min(span) > 50
        for key, values in bounds.items():
            for value in sorted(values):
                colour = "#c62828" if "min" in key or "max" in key else "#ef8f00"
                fig.add_vline(x=value, line={"dash": "dash", "color": colour})
                # An annotation on a log axis is placed in log10 units (a shape in data units).
                fig.add_annotation(x=math.log10(value) if log else value, xref="x", y=1, yref="paper",
                                   text=f"{key} {value:.4g}", textangle=-90, xanchor="left", yanchor="top",
                                   showarrow=False, font={"size": 11, "color": colour})
        fig.update_layout(height=150 + 45 * len(fig.data), template="plotly_white", showlegend=False,
                          xaxis={"title": f"{metric} ({unit})", "type": "log" if log else "linear"}, margin={"l": 90, "r": 30, "t": 30, "b": 45})
        figures.append(Figure(_slug("dist", check, metric), f"{check}: {metric}",
                              "Every judged figure by verdict; dashed lines are the criterion's thresholds.",
                              _html(fig, _slug("dist", check, metric))))
    return figures


def _allreduce(df: pd.DataFrame) -> Figure | None:
    rows = _measured(df)
    rows = rows[(column(rows, "kind").astype(str) == "allreduce").to_numpy() &
                (column(rows, "metric").astype(str) == "busbw_gbps").to_numpy()]
    if rows.empty or "params.sizes" not in rows.columns:
        return None
    rows = rows.assign(size=rows["params.sizes"].map(size_of))
    rows = rows[np.isfinite(rows["size"].astype(float))]
    if rows.empty:
        return None
    fig = go.Figure()
    keys = [rows["run_id"].astype(str), rows["check"].astype(str), rows["group"].astype(str)]
    many_runs = rows["run_id"].nunique() > 1
    for (run_id, check, group), g in rows.groupby(keys, observed=True, sort=True):
        g = g.sort_values("size")
        name = f"{check} {group}" + (f" ({run_id})" if many_runs else "")
        fig.add_trace(go.Scatter(
            x=g["size"], y=g["value"].astype(float), mode="lines+markers", name=name,
            marker={"color": [VERDICT_COLOURS.get(str(v), "#455a64") for v in g["verdict"]], "size": 9},
            customdata=[[bytes_text(s), text(v), run_id, where(r)] for s, v, (_, r) in
                        zip(g["size"], g["verdict"], g.iterrows())],
            hovertemplate=f"{html.escape(name)}<br>%{{customdata[0]}}: %{{y:.4g}} GB/s<br>verdict %{{customdata[1]}}"
                          "<extra></extra>"))
    judged = rows[column(rows, "criterion").notna().to_numpy()]
    for (check, size), g in judged.groupby([judged["check"].astype(str), "size"], observed=True, sort=True):
        for key, values in _bounds(g).items():
            if key not in BOUND_KEYS:
                continue
            for value in sorted(values):
                label = f"{check}: {key} {value:.4g} GB/s at {bytes_text(size)}"
                fig.add_trace(go.Scatter(x=[size], y=[value], mode="markers", name=label,
                                         marker={"symbol": "line-ew-open", "size": 28, "line": {"width": 3},
                                                 "color": "#c62828" if key in ("min", "max") else "#ef8f00"},
                                         hovertemplate=f"criterion {html.escape(label)}<extra></extra>"))
    sizes = sorted(rows["size"].unique())
    fig.update_layout(height=420, template="plotly_white", xaxis={"type": "log", "title": "message size",
                      "tickvals": sizes, "ticktext": [bytes_text(s) for s in sizes]},
                      yaxis={"title": "busbw (GB/s)"}, margin={"l": 70, "r": 30, "t": 30, "b": 50})
    return Figure("allreduce-busbw", "All-reduce bus bandwidth against message size",
                  "busbw = algbw x 2(n-1)/n (nccl-tests' convention), per group; markers coloured by verdict, "
                  "red bars the criteria.", _html(fig, "allreduce-busbw"))


def _step_label(r: pd.Series, many_runs: bool) -> str:
    return f"{r['check']} {r['group']}" + (f" {str(r['run_id'])[-4:]}" if many_runs else "")


def _step_figures(table: pd.DataFrame) -> list[Figure]:
    many = table["run_id"].nunique() > 1
    labels = [_step_label(r, many) for _, r in table.iterrows()]
    ms = 1e3
    fig = go.Figure()
    outside = table["measured_s"] - table[list(attribution.PHASES)].sum(axis=1, min_count=4)
    measured_parts = [("forward", table["forward_s"], PART_COLOURS["compute"]),
                      ("backward", table["backward_s"], "#5fa2d6"),
                      ("all-reduce (exposed)", table["allreduce_s"], PART_COLOURS["communication"]),
                      ("optimizer", table["optimizer_s"], PART_COLOURS["optimizer"]),
                      ("outside the phases", outside, PART_COLOURS["unexplained"])]
    predicted_parts = [("predicted compute", table["compute_s"], PART_COLOURS["compute"]),
                       ("predicted memory", table["memory_s"], PART_COLOURS["memory"]),
                       ("predicted all-reduce", table["comm_s"], PART_COLOURS["communication"])]
    for side, parts in (("measured", measured_parts), ("predicted", predicted_parts)):
        for name, values, colour in parts:
            values = values.astype(float)
            if not np.isfinite(values).any():
                continue
            fig.add_trace(go.Bar(
                x=[labels, [side] * len(labels)], y=values * ms, name=name, marker={"color": colour},
                opacity=1.0 if side == "measured" else 0.55,
                hovertemplate=f"%{{x[0]}}<br>{name}: %{{y:.4g}} ms<extra></extra>"))
    fig.update_layout(barmode="relative", height=440, template="plotly_white", yaxis_title="ms per step",
                      margin={"l": 70, "r": 30, "t": 30, "b": 70}, legend={"orientation": "h", "y": -0.25})
    figures = [Figure("step-phases", "Training step: measured phases and predicted time",
                      "Per step group: the measured step split into its phases (time outside every phase in grey) "
                      "beside the time predicted from the same GPUs' GEMM, HBM and all-reduce figures.",
                      _html(fig, "step-phases"))]
    gaps = go.Figure()
    predicted = table[np.isfinite(table["gap_s"].astype(float))]
    labels = [_step_label(r, many) for _, r in predicted.iterrows()]
    for part in attribution.COMPONENTS:
        values = predicted[f"gap_{part}_s"].astype(float)
        if not np.isfinite(values).any():
            continue
        gaps.add_trace(go.Bar(x=labels, y=values * ms, name=part, marker={"color": PART_COLOURS[part]},
                              hovertemplate=f"%{{x}}<br>{part}: %{{y:+.4g}} ms<extra></extra>"))
    gap = predicted["gap_s"].astype(float)
    if len(gap):
        gaps.add_trace(go.Scatter(x=labels, y=gap * ms, mode="markers", name="gap (measured - predicted)",
                                  marker={"symbol": "diamond", "size": 12, "color": "#212121"},
                                  hovertemplate="%{x}<br>gap %{y:+.4g} ms<extra></extra>"))
    if gaps.data:
        gaps.update_layout(barmode="relative", height=400, template="plotly_white", yaxis_title="ms per step",
                           margin={"l": 70, "r": 30, "t": 30, "b": 50})
        figures.append(Figure("step-attribution", "Where the gap between measured and predicted went",
                              "Above zero: slower than the microbenchmarks predict; below: faster (e.g. an "
                              "all-reduce hidden behind the backward pass).", _html(gaps, "step-attribution")))
    return figures


def _attribution_table(table: pd.DataFrame) -> Table:
    def ms(name, sign=""):
        return lambda r: "" if pd.isna(r[name]) else f"{r[name] * 1e3:{sign}.4g}"
    return _table(table, {
        "step": lambda r: f"{r['check']} {r['group']}", "ranks": "ranks", "measured ms": ms("measured_s"),
        "predicted ms": ms("predicted_s"), "compute ms": ms("compute_s"), "memory ms": ms("memory_s"),
        "all-reduce ms": ms("comm_s"), "gap ms": ms("gap_s", "+"),
        **{f"gap: {c} ms": ms(f"gap_{c}_s", "+") for c in attribution.COMPONENTS},
        "mostly": "dominant", "run": "run_id"})


def _inputs_table(table: pd.DataFrame) -> Table:
    """What each prediction was made of: the step's work and the rates, with where each came from."""
    return _table(table, {
        "step": lambda r: f"{r['check']} {r['group']}",
        "work per rank": lambda r: f"{number(r['flops'] / 1e9)} GFLOP, {bytes_text(r['memory_bytes'])} memory, "
                                   f"{bytes_text(r['allreduce_bytes'])} all-reduced" if np.isfinite(r["flops"]) else "",
        "GEMM": lambda r: f"{number(r['gemm_tflops'], 'TFLOP/s')}: {r['gemm_source']}",
        "HBM": lambda r: f"{number(r['hbm_gbps'], 'GB/s')}: {r['hbm_source']}",
        "busbw": lambda r: f"{number(r['busbw_gbps'], 'GB/s')}: {r['busbw_source']}",
        "note": "note", "run": "run_id"})


def _regressions(df: pd.DataFrame, history: str | None) -> tuple[Table | None, str]:
    """Regressions of these results against `history` with rackqual.fleet.compare, or why not."""
    if history is None:
        return None, ""
    try:
        from rackqual import fleet
        compare = fleet.compare
    except (ImportError, AttributeError) as e:
        return None, f"regressions left out: rackqual.fleet.compare is not available ({e})"
    import duckdb   # fleet's engine, there wherever fleet is
    try:
        found = compare(history, df)
    except BadInput as e:   # a history it cannot read: `path: message`
        message = str(e)
        raise BadInput(message if message.startswith(str(history)) else f"{history}: {message}") from None
    except duckdb.Error as e:   # a history whose files DuckDB cannot read
        raise BadInput(f"{history}: {first_line(e)}") from None
    if found.empty:
        return None, f"nothing regressed against {history}"
    return _table(found, {
        "check": "check", "metric": "metric", "subject": "subject", "host": "host", "serial": "serial",
        "baseline": lambda r: number(r.get("old"), text(r.get("unit"))), "runs": "old_runs",
        "now": lambda r: number(r.get("new"), text(r.get("unit"))),
        "drop": lambda r: "" if pd.isna(r.get("drop")) else f"{100 * float(r['drop']):.1f}%",
        "criterion": "criterion", "run": "run_id"}, pd.Series(["fail"] * len(found))), \
        f"{len(found)} figure(s) regressed against {history}"


# ---------------------------------------------------------------------------------------------
# The page


def build(df: pd.DataFrame, *, history: str | None = None, title: str | None = None,
          source: str | None = None) -> str:
    """The report of `df` (rackqual.load's frame) as one self-contained HTML page."""
    df = tidy(df)
    counts = verdict_counts(df)
    table, attribution_note = attribution_or_reason(df)
    regressions, regressions_note = _regressions(df, history)
    figures = {
        "heatmaps": _heatmaps(df),
        "distributions": _distributions(df),
        "allreduce": [f for f in [_allreduce(df)] if f],
        "step": _step_figures(table) if table is not None else [],
    }
    probs = problems(df)
    skip = [dict(s, file=_relative(s.get("file"), source)) for s in skipped(df)]
    runs = sorted(column(df, "run_id").dropna().astype(str).unique())
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    return env.get_template(TEMPLATE).render(
        title=title or "rackqual report", source=source or "", generated=_dt.datetime.now(_dt.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC"), plotly_js=plotly.offline.get_plotlyjs(), runs=runs,
        records=len(df), counts=counts, colours=VERDICT_COLOURS,
        culprits=int((probs["problem"] == "culprit").sum()) if len(probs) else 0,
        failures=int(probs["problem"].isin(["fail", "error"]).sum()) if len(probs) else 0,
        problems=_problems_table(df), probes=_probes_table(df), runs_table=_runs_table(df),
        checks=_checks_table(df), figures=figures,
        attribution=_attribution_table(table) if table is not None else None,
        inputs=_inputs_table(table) if table is not None else None,
        explanations=[attribution.explain(r) for _, r in table.iterrows()] if table is not None else [],
        attribution_note=attribution_note, model=attribution.__doc__,
        regressions=regressions, regressions_note=regressions_note, history=history,
        skipped=skip[:10], skipped_count=len(skip), summary=summary(df))


def _relative(file, root: str | None) -> str:
    """A records file's path from the results root the report was made of, where it lies below it."""
    if not file or not root:
        return text(file)
    try:
        base = pathlib.Path(root)
        return str(pathlib.Path(file).relative_to(base if base.is_dir() else base.parent))
    except ValueError:
        return str(file)


def write(df: pd.DataFrame, path: str | os.PathLike, **kwargs) -> pathlib.Path:
    """Writes the report of `df` to `path` whole, through the writer every rackqual file goes
    through (a new temporary file, synced, renamed over `path`; never through a link). OSError
    when it cannot be written."""
    path = pathlib.Path(path)
    page = build(df, **kwargs)
    try:
        _core.write_file_whole(str(path), page)
    except _core.SetupError as e:
        raise OSError(str(e)) from None
    return path


def cli(argv: list[str]) -> int:
    """python -m rackqual report RESULTS -o report.html [--history HISTORY]: exit 0 once written, 2 on
    bad input (RESULTS or HISTORY missing, unreadable or without records, an output path that cannot
    be written, a wrong option), with one line on stderr and nothing written."""
    parser = ArgumentParser(prog="rackqual report",
                            description="Writes one self-contained HTML report of RESULTS (a results tree, run "
                                        "folder or records file) and prints a summary.")
    parser.add_argument("results")
    parser.add_argument("-o", "--output", default="report.html", help="the HTML file (default report.html)")
    parser.add_argument("--history", help="a history (or older results) to list regressions against")
    parser.add_argument("--title", help="the page's title")
    try:
        args = parser.parse_args(argv)
        results, output = pathlib.Path(args.results), pathlib.Path(args.output)
        with warnings.catch_warnings():   # the summary says what was skipped, and where
            warnings.filterwarnings("ignore", message="rackqual: skipped")
            df = _results(results, args.history, output)
            _write(df, output, history=args.history, title=args.title, source=str(results))
    except SystemExit as e:   # --help
        return EXIT_BAD_INPUT if e.code else EXIT_PASS
    except BadInput as e:
        return refuse(e)
    print(summary(df))
    print(f"report: {output}")
    return EXIT_PASS


def _results(results: pathlib.Path, history: str | None, output: pathlib.Path) -> pd.DataFrame:
    """The records the command reports on, once its inputs and its output's folder are found usable."""
    for path in (results, history):
        if path is not None and not pathlib.Path(path).exists():
            raise BadInput(f"{path}: no such file or folder")
    if not output.parent.is_dir():
        raise BadInput(f"{output}: no such folder: {output.parent}")
    if output.is_dir():
        raise BadInput(f"{output}: a folder, not a file")
    try:
        df = rackqual.load(results)
    except (OSError, ValueError) as e:
        raise BadInput(f"{results}: {first_line(e)}") from None
    if df.empty:
        n = len(skipped(df))
        raise BadInput(f"{results}: no rackqual records" + (f" ({n} unreadable line(s) skipped)" if n else ""))
    return df


def _write(df: pd.DataFrame, output: pathlib.Path, **kwargs) -> None:
    try:
        write(df, output, **kwargs)
    except OSError as e:
        raise BadInput(f"{output}: {e.strerror or e}") from None
