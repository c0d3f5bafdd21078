"""The bring-up board as one self-contained HTML page (plotly.js inline: it opens offline), like the
report: every rack's state with its hosts, GPUs and parts to pull; each rack's GPUs by state; the
cluster's progress against the inventory; GPUs qualified per day; the racks that failed more than
once; each rack's timeline.
"""
from __future__ import annotations

import datetime as _dt
import html
import pathlib

import jinja2
import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from rackqual.board_racks import Board, RackView, duration
from rackqual.board_states import LABELS, State
from rackqual.report import VERDICT_COLOURS

__all__ = ["build", "STATE_COLOURS"]

TEMPLATE = "board.html.j2"
TEMPLATE_DIRS = (pathlib.Path(__file__).resolve().parent / "data" / "templates",
                 pathlib.Path(__file__).resolve().parents[2] / "reports" / "templates")
# The verdicts' colours where a state reads as one; the rest of their own.
STATE_COLOURS = {State.NEVER_TESTED: VERDICT_COLOURS["skip"], State.QUALIFYING: "#1565c0",
                 State.QUALIFIED: VERDICT_COLOURS["pass"], State.REQUALIFIED: "#00897b",
                 State.FAILED: VERDICT_COLOURS["fail"], State.REGRESSED: VERDICT_COLOURS["warn"],
                 State.UNDECIDED: VERDICT_COLOURS["error"]}
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
MEANINGS = {
    State.NEVER_TESTED: "no record of the rack in the history",
    State.QUALIFYING: "records of it, but no qualify verdict yet",
    State.QUALIFIED: "its latest qualify verdict passed, and no run since failed it",
    State.REQUALIFIED: "qualified again after a failed qualification or a regression",
    State.FAILED: "its latest qualify verdict failed; the culprits it named are parts to pull",
    State.REGRESSED: "qualified, then a later run (a nightly sweep) failed one of its GPUs, nodes or its rack group",
    State.UNDECIDED: "its latest qualify verdict is an error, or a run since it was qualified errored or died: "
                     "no word either way",
}


def _utc(time: pd.Timestamp) -> str:
    """A time as plotly reads it: UTC, without an offset."""
    return time.tz_convert("UTC").strftime("%Y-%m-%d %H:%M:%S")


def _html(fig: go.Figure, div_id: str) -> str:
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOT_CONFIG)


def _rack_gpus(b: Board) -> str:
    """Each rack's GPUs by their state, one bar per rack."""
    fig = go.Figure()
    names = [f"{r.rack.name} ({r.state.label})" for r in b.racks]
    for state in State:
        counts = [r.counts(r.gpus)[state] for r in b.racks]
        keep = [i for i, n in enumerate(counts) if n]
        if not keep:
            continue
        fig.add_trace(go.Bar(
            y=[names[i] for i in keep], x=[counts[i] for i in keep], orientation="h", name=state.label,
            marker={"color": STATE_COLOURS[state]},
            hovertemplate=f"%{{y}}<br>{html.escape(state.label)}: %{{x}} GPU(s)<extra></extra>"))
    fig.update_layout(barmode="stack", template="plotly_white", height=120 + 26 * len(b.racks), xaxis_title="GPUs",
                      yaxis={"autorange": "reversed", "categoryorder": "array", "categoryarray": names},
                      legend={"traceorder": "normal"}, margin={"l": 160, "r": 30, "t": 20, "b": 40})
    return _html(fig, "rack-gpus")


def _progress(b: Board, curve: pd.DataFrame) -> str:
    """GPUs in qualified racks over time, against the inventory's GPUs."""
    times = [_utc(t) for t in curve["time"]]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=times, y=curve["gpus"], mode="lines+markers", line={"shape": "hv"},
                             name="GPUs in qualified racks", marker={"color": STATE_COLOURS[State.QUALIFIED]},
                             customdata=[[r, s] for r, s in zip(curve["rack"], curve["state"])],
                             hovertemplate="%{x} UTC<br>%{y} GPUs<br>%{customdata[0]} %{customdata[1]}<extra></extra>"))
    fig.add_trace(go.Scatter(x=[times[0], times[-1]], y=[b.inventory.gpus] * 2, mode="lines", name="inventory",
                             line={"dash": "dash", "color": "#455a64"},
                             hovertemplate=f"inventory: {b.inventory.gpus} GPUs<extra></extra>"))
    fig.update_layout(template="plotly_white", height=380, yaxis={"title": "GPUs", "rangemode": "tozero"},
                      xaxis_title="time (UTC)", margin={"l": 70, "r": 30, "t": 20, "b": 50})
    return _html(fig, "progress")


def _per_day(days: pd.DataFrame) -> str:
    fig = go.Figure(go.Bar(
        x=[d.strftime("%Y-%m-%d") for d in days["date"]], y=days["gpus"],
        marker={"color": STATE_COLOURS[State.QUALIFIED]},
        customdata=[", ".join(r) for r in days["racks"]], name="GPUs qualified",
        hovertemplate="%{x}: %{y} GPUs<br>racks %{customdata}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=320, yaxis_title="GPUs qualified", xaxis={"type": "category"},
                      bargap=0.5, margin={"l": 70, "r": 30, "t": 20, "b": 50})
    return _html(fig, "per-day")


def _counts_text(counts: dict[State, int]) -> str:
    return ", ".join(f"{n} {s.label}" for s, n in counts.items() if n)


def _rack_row(b: Board, r: RackView) -> dict:
    return {"name": r.rack.name, "state": r.state.value, "label": r.state.label, "colour": STATE_COLOURS[r.state],
            "since": r.line.since.strftime("%Y-%m-%d %H:%M") if r.line.since is not None else "",
            "days": f"{b.days(r.line.since):.1f}" if r.line.since is not None else "",
            "hosts": _counts_text(r.counts(r.hosts)), "gpus": _counts_text(r.counts(r.gpus)),
            "parts": [p.label for p in r.parts], "detail": r.detail(), "failures": len(r.line.failures),
            "steps": [{"time": s.time.strftime("%Y-%m-%d %H:%M:%S"), "label": s.state.label,
                       "colour": STATE_COLOURS[s.state], "run": s.finding.run_id if s.finding else "",
                       "reason": s.finding.reason if s.finding else "first record"} for s in r.line.steps]}


def _figures(b: Board) -> dict[str, str]:
    """The page's plots, each left out where it would have nothing to draw."""
    figures = {"rack_gpus": _rack_gpus(b) if b.racks else ""}
    curve, days = b.progress(), b.per_day()
    figures["progress"] = _progress(b, curve) if len(curve) else ""
    figures["per_day"] = _per_day(days) if len(days) else ""
    return figures


def build(b: Board, *, title: str | None = None) -> str:
    """The board as one HTML page."""
    median, qualified_racks = b.median_days_to_qualified()
    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(d) for d in TEMPLATE_DIRS]),
                             autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined)
    return env.get_template(TEMPLATE).render(
        title=title or f"rackqual board: {b.inventory.cluster}", cluster=b.inventory.cluster,
        inventory=b.inventory.path, history=b.history, as_of=b.as_of.strftime("%Y-%m-%d %H:%M UTC"),
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        plotly_js=plotly.offline.get_plotlyjs(), states=[
            {"value": s.value, "label": LABELS[s], "colour": STATE_COLOURS[s], "meaning": MEANINGS[s],
             "racks": sum(1 for r in b.racks if r.state is s)} for s in State],
        racks=[_rack_row(b, r) for r in b.racks], gpus=b.inventory.gpus, gpus_qualified=b.gpus_qualified(),
        median=duration(median) if median is not None else None, qualified_racks=qualified_racks,
        parts=[{"rack": p.rack, "kind": p.kind.value, "name": p.name, "named": p.time.strftime("%Y-%m-%d %H:%M"),
                "runs": p.runs, "evidence": p.evidence} for p in b.parts],
        again=[{"name": r.rack.name, "state": r.state.label, "failures": [
            f"{f.time.strftime('%Y-%m-%d %H:%M')} run {f.run_id}" for f in r.line.failures]}
            for r in b.failed_more_than_once()],
        per_day=[{"date": d.strftime("%Y-%m-%d"), "gpus": int(n), "racks": ", ".join(racks)}
                 for d, n, racks in b.per_day().itertuples(index=False)],
        figures=_figures(b), strangers=b.strangers)
