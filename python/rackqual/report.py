"""The HTML report of a set of results: one self-contained file (plotly.js inline, nothing fetched)
for the ticket a bring-up crew files or the page a fleet engineer opens.

Sections: the verdicts with the culprits first, then what failed; a heatmap per rack of each key
GPU figure by host and GPU slot; each judged figure's distribution with its thresholds (both coloured
by what the criteria say: a verdict's fixed colour, or for a pass a fixed scale of the figure against
its group median, so that red only ever means failed); all-reduce bus bandwidth against message
size; the training step's phases, its predicted time and the gap's attribution
(rackqual.attribution); regressions against a history (rackqual.fleet.compare) when one is given;
and the record-file lines the loader skipped.

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
from rackqual.frames import bytes_text, column, number, size_of, text, tidy, to_number
from rackqual.summary import (VERDICTS, attribution_or_reason, is_culprit, is_probe, problems, skipped, summary,
                              verdict_counts, where)

__all__ = ["build", "write", "summary", "cli", "BadInput"]

# The page's template: reports/templates in a source checkout, data/templates beside an installed package.
TEMPLATE = "report.html.j2"
TEMPLATE_DIRS = (pathlib.Path(__file__).resolve().parent / "data" / "templates",
                 pathlib.Path(__file__).resolve().parents[2] / "reports" / "templates")
VERDICT_COLOURS = {"pass": "#2e7d32", "warn": "#ef8f00", "fail": "#c62828", "error": "#6a1b9a", "skip": "#78909c"}
OTHER_COLOUR = "#455a64"   # a verdict of no known kind
# A pass is drawn by its figure against its group median (_against_median), in % in the better
# direction, on one fixed scale clamped at +-PASS_SPAN: worse in blue, the median grey-white, better
# in green. No red, orange or purple: those are fail, warn and error.
PASS_SPAN = 10.0
PASS_WORSE, PASS_MEDIAN, PASS_BETTER = "#2166ac", "#eceff1", "#2e7d32"
PASS_SCALE = [[0.0, PASS_WORSE], [0.5, PASS_MEDIAN], [1.0, PASS_BETTER]]
PASS_NOTE = (f"Colours say what the criteria say. A pass is drawn by its figure against its group median: "
             f"blue {PASS_SPAN:g} % or more worse, grey-white at the median, green {PASS_SPAN:g} % or more "
             f"better (worse: below the median where higher is better, above it where lower is better). "
             f"The group median is the median of the same check, metric and parameter point in the same run "
             f"over the records the criteria's group comparison uses: every GPU of the run for a per-GPU "
             f"check, every group for a node or rack check, error and skip records left out; a figure with "
             f"no peer sits at the median. Warn, fail, error and skip take their verdict's colour whatever "
             f"the figure.")
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


def _against_median(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with each figure's group median (_median), how many peers it was taken over (_peers)
    and how far the figure sits from it in % (_pct) and in the better direction (_better_pct,
    negative is worse). Peers are the records judge_peers compares: the same run, check, metric
    and parameter point, with a finite figure, error and skip left out. NaN where a figure has no
    peer or the median is not positive."""
    key = pd.Series("", index=df.index, dtype="object")
    for c in sorted(c for c in df.columns if c.startswith("params.")):
        key = key + "|" + df[c].astype(str)
    keys = [column(df, "run_id").astype(str), column(df, "check").astype(str),
            column(df, "metric").astype(str), key]
    value = pd.to_numeric(column(df, "value"), errors="coerce").astype(float)
    peer = np.isfinite(value) & ~column(df, "verdict").astype(str).isin(["error", "skip"])
    peers = value.where(peer).groupby(keys, sort=False, dropna=False)   # pandas 3: a missing parameter is NaN, not "nan"
    median, count = peers.transform("median"), peers.transform("count")
    usable = peer & (count >= 2) & (median > 0)
    pct = ((value / median - 1) * 100).where(usable)
    lower = (column(df, "better").astype(str) == "lower").to_numpy()
    return df.assign(_median=median.where(usable), _peers=count.where(usable), _pct=pct,
                     _better_pct=pct.where(~lower, -pct))


def _pass_position(better_pct: float) -> float:
    """Where a pass sits on the pass scale: its % against the median, clamped; the median without one."""
    if better_pct is None or not np.isfinite(better_pct):
        return 0.0
    return float(min(PASS_SPAN, max(-PASS_SPAN, better_pct)))


def _median_text(r: pd.Series, unit: str) -> str:
    """A figure against its group median, as the hover states it."""
    pct = r.get("_pct")
    if pct is None or not np.isfinite(pct):
        return "no peer to compare with"
    side = "at" if abs(float(r["_better_pct"])) < 0.05 else ("better than" if r["_better_pct"] > 0 else "worse than")
    return (f"{float(pct):+.1f} % against the group median {number(r['_median'], unit)} of "
            f"{int(r['_peers'])} ({side} the median)")


def _verdict_bands(verdicts: set[str]) -> list[tuple[str, str]]:
    """The fixed colours of the verdicts other than pass that a heatmap shows in its colour bar:
    the known ones always, in order, and one band for any verdict of no known kind."""
    bands = [(v, VERDICT_COLOURS[v]) for v in VERDICTS if v != "pass" and v in VERDICT_COLOURS]
    if verdicts - set(VERDICT_COLOURS):
        bands.append(("other", OTHER_COLOUR))
    return bands


def _heat_scale(bands: list[tuple[str, str]]) -> tuple[dict, dict[str, float]]:
    """One colour axis for a heatmap: the pass scale over -PASS_SPAN..+PASS_SPAN, a white gap, then
    one band of fixed colour per verdict; and the value that draws each verdict in its band's middle.
    Its colour bar is the legend: ticks name the scale's ends, the median and every band."""
    width = 0.4 * PASS_SPAN
    edge, low = PASS_SPAN + width / 8, PASS_SPAN + width / 2   # the pass scale's end, the first band
    top = low + width * len(bands)

    def at(z: float) -> float:   # a value of the axis as a position on its colour scale
        return min(1.0, (z + PASS_SPAN) / (top + PASS_SPAN))

    # The better end holds a little past +PASS_SPAN, so that a clamped figure never lands on the
    # hard stop into the gap.
    stops = [[0.0, PASS_WORSE], [at(0.0), PASS_MEDIAN], [at(PASS_SPAN), PASS_BETTER], [at(edge), PASS_BETTER],
             [at(edge), "#ffffff"], [at(low), "#ffffff"]]
    code = {}
    for i, (verdict, colour) in enumerate(bands):
        stops += [[at(low + width * i), colour], [at(low + width * (i + 1)), colour]]
        code[verdict] = low + width * (i + 0.5)
    axis = {"colorscale": stops, "cmin": -PASS_SPAN, "cmax": top,
            "colorbar": {"title": {"text": "pass: against<br>the group median", "side": "top"},
                         "tickvals": [-PASS_SPAN, 0.0, PASS_SPAN, *code.values()],
                         "ticktext": [f"{PASS_SPAN:g} % worse", "group median", f"{PASS_SPAN:g} % better", *code],
                         "ticks": "", "thickness": 18}}
    return axis, code


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


def _own(df: pd.DataFrame) -> pd.DataFrame:
    """Records of the suite's own groups (no culprit or probe records), each with its group median."""
    return _against_median(df[(~is_probe(df) & ~is_culprit(df)).to_numpy()])


def _heatmaps(df: pd.DataFrame) -> list[Figure]:
    own = _own(df)
    value = pd.to_numeric(column(own, "value"), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    verdict = column(own, "verdict")
    # A GPU with a figure, or with a verdict but none (an error or skip is coloured all the same).
    shown = np.isfinite(value) | (verdict.notna() & (verdict.astype(str) != "pass")).to_numpy()
    gpu = own[shown & (column(own, "scope").astype(str) == "gpu").to_numpy() &
              column(own, "device.index").notna().to_numpy()]
    figures = []
    for check, g in gpu.groupby(column(gpu, "check").astype(str), observed=True, sort=True):
        for metric in _key_metrics(g):
            m = g[(g["metric"].astype(str) == metric).to_numpy()]
            if _finite(m).empty:   # no GPU has a figure of it (a criterion skipped everywhere)
                continue
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


def _rack_trace(sub: pd.DataFrame, code: dict[str, float], metric: str, unit: str) -> go.Heatmap:
    """One rack's GPUs by host and slot: a pass by its figure against the group median, any other
    verdict by its band of the colour axis; each cell labelled with its figure and verdict."""
    hosts = sorted(sub["_host"].unique())
    slots = sorted(sub["_slot"].unique())
    z = [[None] * len(slots) for _ in hosts]
    label = [[""] * len(slots) for _ in hosts]
    custom = [[[""] * 9 for _ in slots] for _ in hosts]
    for _, r in sub.iterrows():
        y, x = hosts.index(r["_host"]), slots.index(r["_slot"])
        verdict = text(r.get("verdict"))
        finite = np.isfinite(to_number(r.get("value")))
        z[y][x] = _pass_position(r["_better_pct"]) if verdict == "pass" else code.get(verdict, code.get("other"))
        label[y][x] = (f"{float(r['value']):.3g}" if finite else "n/a") + \
            ("" if verdict == "pass" else f" {verdict.upper()}")
        earlier = [k for k in ("fail", "error", "warn") if k in r["_verdicts"] and k != verdict]
        if earlier:
            label[y][x] += " (" + "/".join(earlier) + " before)"
        custom[y][x] = [r["_host"], str(r["_slot"]), text(r.get("device.serial")) or "unknown",
                        number(r["value"], unit), verdict, text(r.get("run_id")), r["_verdicts"],
                        html.escape(text(r.get("criterion")) or "none"), _median_text(r, unit)]
    return go.Heatmap(
        z=z, x=[f"GPU {s}" for s in slots], y=hosts, text=label, texttemplate="%{text}", customdata=custom,
        coloraxis="coloraxis", xgap=2, ygap=2, hoverongaps=False,
        hovertemplate="<b>%{customdata[0]}</b> GPU %{customdata[1]}<br>serial %{customdata[2]}<br>"
                      f"{html.escape(metric)} %{{customdata[3]}}: %{{customdata[8]}}<br>"
                      "criterion %{customdata[7]}<br>verdict %{customdata[4]}<br>"
                      "run %{customdata[5]}; over the runs: %{customdata[6]}<extra></extra>")


def _heatmap(check: str, metric: str, m: pd.DataFrame) -> Figure:
    racks = sorted(m["_rack"].unique())
    cols = min(len(racks), HEATMAP_RACKS_PER_ROW)
    nrows = math.ceil(len(racks) / cols)
    fig = make_subplots(rows=nrows, cols=cols, subplot_titles=[f"rack {r}" for r in racks],
                        horizontal_spacing=0.06, vertical_spacing=0.12 / max(1, nrows - 1) if nrows > 1 else 0.1)
    unit = text(m["unit"].iloc[0]) if "unit" in m.columns else ""
    better = text(m["better"].iloc[0]) if "better" in m.columns else "higher"
    axis, code = _heat_scale(_verdict_bands(set(column(m, "verdict").dropna().astype(str))))
    most_hosts = 1
    for i, rack in enumerate(racks):
        sub = m[m["_rack"] == rack]
        most_hosts = max(most_hosts, sub["_host"].nunique())
        fig.add_trace(_rack_trace(sub, code, metric, unit).update(name=f"rack {rack}"),
                      row=i // cols + 1, col=i % cols + 1)
    fig.update_layout(coloraxis=axis, template="plotly_white",
                      height=max(300, 140 + nrows * (60 + 34 * most_hosts)),
                      margin={"l": 80, "r": 30, "t": 40, "b": 30})
    fig.update_yaxes(autorange="reversed")
    return Figure(_slug("heatmap", check, metric), f"{check}: {metric} by host and GPU",
                  f"Each GPU slot's latest figure ({unit}, {better} is better), coloured as the legend says: "
                  f"a pass by its figure against its group median (the run's GPUs at the same check, metric "
                  f"and parameters), any other verdict in its own colour. A cell marked WARN/FAIL/ERROR missed "
                  f"its criterion; (... before): an earlier run saw it. Hover for host, serial, figure, its % "
                  f"against the median, criterion and verdict.",
                  _html(fig, _slug("heatmap", check, metric)))


def _verdict_traces(verdict: str, v: pd.DataFrame, unit: str, y: int) -> list:
    """The figures of one verdict at height `y`: a box with every point in the verdict's colour, or
    for a pass a box and its points coloured by the pass scale (outlined, so that a point at the
    median shows on white), spread over the box's height in the order of their figures."""
    colour = VERDICT_COLOURS.get(verdict, OTHER_COLOUR)
    name = f"{verdict} ({len(v)})"
    x = v["value"].astype(float).to_numpy()
    custom = [[where(r), text(r.get("run_id")), _point(r), _median_text(r, unit)] for _, r in v.iterrows()]
    hover = ("%{customdata[0]}<br>%{x:.4g} " + html.escape(unit) + " %{customdata[2]}<br>%{customdata[3]}<br>"
             f"verdict {html.escape(verdict)}<br>run %{{customdata[1]}}<extra></extra>")
    box = {"x": x, "y0": y, "name": name, "orientation": "h", "line": {"color": colour},
           "fillcolor": "rgba(0,0,0,0.03)"}
    if verdict != "pass":
        return [go.Box(**box, boxpoints="all", jitter=0.5, pointpos=0, marker={"color": colour, "size": 7},
                       customdata=custom, hovertemplate=hover)]
    spread = np.empty(len(x))
    spread[np.argsort(x, kind="stable")] = (np.arange(len(x)) * 0.618034) % 1 - 0.5
    points = go.Scatter(x=x, y=y + 0.4 * spread, mode="markers", name=f"{name} figures", customdata=custom,
                        hovertemplate=hover,
                        marker={"color": [_pass_position(b) for b in v["_better_pct"]], "colorscale": PASS_SCALE,
                                "cmin": -PASS_SPAN, "cmax": PASS_SPAN, "size": 8,
                                "line": {"width": 1, "color": "#607d8b"}})
    return [go.Box(**box, boxpoints=False), points]


def _distributions(df: pd.DataFrame) -> list[Figure]:
    judged = _finite(_own(df))
    judged = judged[column(judged, "criterion").notna().to_numpy()]
    figures = []
    keys = [judged["check"].astype(str), judged["metric"].astype(str)]
    for (check, metric), g in judged.groupby(keys, observed=True, sort=True):
        unit = text(g["unit"].iloc[0]) if "unit" in g.columns else ""
        fig = go.Figure()
        verdicts = g["verdict"].astype(str)
        shown = [v for v in VERDICTS if (verdicts == v).any()] + sorted(set(verdicts) - set(VERDICTS))
        for y, verdict in enumerate(shown):
            fig.add_traces(_verdict_traces(verdict, g[(verdicts == verdict).to_numpy()], unit, y))
        bounds = _bounds(g)
        span = [float(v) for v in g["value"]] + [v for values in bounds.values() for v in values]
        # Thresholds far from the figures (a 30 s limit on 30 ms steps): a log axis keeps both legible.
        log = min(span) > 0 and max(span) / min(span) > 50
        for key, values in bounds.items():
            for value in sorted(values):
                # A warn band in the warn colour; every other bound (min, max, x median) fails.
                colour = VERDICT_COLOURS["warn"] if key.startswith("warn") else VERDICT_COLOURS["fail"]
                fig.add_vline(x=value, line={"dash": "dash", "color": colour})
                # An annotation on a log axis is placed in log10 units (a shape in data units).
                fig.add_annotation(x=math.log10(value) if log else value, xref="x", y=1, yref="paper",
                                   text=f"{key} {value:.4g}", textangle=-90, xanchor="left", yanchor="top",
                                   showarrow=False, font={"size": 11, "color": colour})
        fig.update_layout(height=150 + 45 * len(shown), template="plotly_white", showlegend=False,
                          xaxis={"title": f"{metric} ({unit})", "type": "log" if log else "linear"},
                          yaxis={"tickvals": list(range(len(shown))), "range": [-0.6, len(shown) - 0.4],
                                 "ticktext": [f"{v} ({(verdicts == v).sum()})" for v in shown], "zeroline": False},
                          margin={"l": 90, "r": 30, "t": 30, "b": 45})
        figures.append(Figure(_slug("dist", check, metric), f"{check}: {metric}",
                              "Every judged figure by verdict, coloured as the legend says (a pass by its "
                              "figure against its group median); dashed lines are the criterion's thresholds.",
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
        records=len(df), counts=counts, colours=VERDICT_COLOURS, legend=_legend(),
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


def _legend() -> dict:
    """What the colours of the heatmaps and distributions mean, for the legend beside them."""
    return {"note": PASS_NOTE, "span": f"{PASS_SPAN:g}", "bands": _verdict_bands(set()),
            "gradient": f"linear-gradient(to right, {PASS_WORSE}, {PASS_MEDIAN}, {PASS_BETTER})"}


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
