"""The racks on the bring-up board: each rack's timeline with its hosts' and GPUs', its parts to pull,
and the cluster's progress across them, assessed from an inventory and a history (rackqual.board
is the command and the DataFrame over it; rackqual.board_page and rackqual.board_prom its outputs).
"""
from __future__ import annotations

import dataclasses
import os
import statistics

import pandas as pd

from rackqual.board_evidence import Evidence, Inventory, Part, Rack, read_history, read_inventory
from rackqual.board_states import Source, State, Timeline, timeline

__all__ = ["RackView", "Board", "assess", "duration", "DAY_S"]

DAY_S = 86400.0


@dataclasses.dataclass
class RackView:
    """One rack on the board: its timeline, its hosts' and GPUs', and its parts to pull."""
    rack: Rack
    line: Timeline
    hosts: dict[str, Timeline]
    gpus: dict[tuple[str, int], Timeline]
    parts: list[Part]

    @property
    def state(self) -> State:
        return self.line.state

    def counts(self, timelines: dict) -> dict[State, int]:
        """How many of `timelines` (its hosts' or GPUs') are in each state."""
        out = {s: 0 for s in State}
        for t in timelines.values():
            out[t.state] += 1
        return out

    def culprits(self) -> list[Part]:
        """The parts to pull that the run deciding its state named (a failed or regressed rack's culprits)."""
        run = self.line.decided_by.run_id if self.line.decided_by else None
        return [p for p in self.parts if run in p.runs]

    def detail(self) -> str:
        """The rack's state in a sentence a crew reads: what decided it, when, and what was named."""
        line, state = self.line, self.line.state
        when = _date(line.since)
        by = line.decided_by
        if state is State.NEVER_TESTED:
            return "never tested: no record of it in the history"
        if state is State.QUALIFYING:
            return f"qualifying since {when}: no qualify verdict yet"
        qualified = line.qualified_by
        if state.in_service:
            again = f" after {len(line.failures)} failure(s)" if state is State.REQUALIFIED else ""
            return f"{state.label} on {_date(qualified.time)} by run {qualified.run_id}{again}"
        named = "; ".join(f"{p.label}: {p.evidence[0]}" for p in self.culprits())
        reason = f"culprits named: {named}" if named else by.reason
        if state is State.FAILED:
            return f"failed on {_date(by.time)} in qualify run {by.run_id}: {reason}"
        if state is State.REGRESSED:
            return (f"regressed on {_date(by.time)} in run {by.run_id} since qualified on {_date(qualified.time)} "
                    f"by run {qualified.run_id}: {reason}")
        if by.source is Source.QUALIFY:
            return (f"undecided since {when}: the qualify verdict of run {by.run_id} is neither a pass nor a fail: "
                    f"{by.reason}")
        return (f"undecided since {when}: qualified on {_date(qualified.time)} by run {qualified.run_id}, then run "
                f"{by.run_id} could not say: {by.reason}")


@dataclasses.dataclass
class Board:
    """The whole board, as of a time: each rack, its parts to pull, and the cluster's progress."""
    inventory: Inventory
    history: str
    as_of: pd.Timestamp
    racks: list[RackView]
    strangers: list[str]   # racks the history holds records of that the inventory does not list

    @property
    def parts(self) -> list[Part]:
        return [p for r in self.racks for p in r.parts]

    def days(self, since: pd.Timestamp | None) -> float:
        return (self.as_of - since).total_seconds() / DAY_S if since is not None else float("nan")

    def frame(self) -> pd.DataFrame:
        """One row per rack, in the inventory's order (see rackqual.board.board)."""
        rows = [self._row(r) for r in self.racks]
        df = pd.DataFrame(rows, columns=list(rows[0]) if rows else ["rack", "state"])
        # The states stay State members (pandas 3 would make a column of str-enums plain text).
        df["state"] = pd.Series([row["state"] for row in rows], index=df.index, dtype=object)
        for name in ("since", "qualified_on", "first_tested"):
            if name in df:
                df[name] = pd.to_datetime(df[name], utc=True)
        df.attrs.update(cluster=self.inventory.cluster, inventory=self.inventory.path, history=self.history,
                        as_of=self.as_of, gpus=self.inventory.gpus, gpus_qualified=self.gpus_qualified(),
                        median_days_to_qualified=self.median_days_to_qualified()[0],
                        failed_more_than_once=[r.rack.name for r in self.failed_more_than_once()],
                        not_in_inventory=list(self.strangers))
        return df

    def _row(self, r: RackView) -> dict:
        line, qualified = r.line, r.line.qualified_by
        row = {"rack": r.rack.name, "state": r.state, "since": line.since, "days_in_state": self.days(line.since),
               "detail": r.detail(), "decided_by": line.decided_by.run_id if line.decided_by else None,
               "qualified_on": qualified.time if qualified else None,
               "qualified_by": qualified.run_id if qualified else None, "first_tested": line.first_tested,
               "failures": len(line.failures), "hosts": len(r.rack.hosts), "gpus": r.rack.gpus}
        row |= {f"hosts_{s.value}": n for s, n in r.counts(r.hosts).items()}
        row |= {f"gpus_{s.value}": n for s, n in r.counts(r.gpus).items()}
        row["parts_to_pull"] = [p.label for p in r.parts]
        return row

    def gpus_qualified(self) -> int:
        """The GPUs of the racks qualified (or re-qualified) now."""
        return sum(r.rack.gpus for r in self.racks if r.state.in_service)

    def progress(self) -> pd.DataFrame:
        """GPUs in qualified racks after every change (time, gpus, rack, state), from the first test to as_of."""
        changes = sorted(((s.time, r, s, prev) for r in self.racks for prev, s in zip(r.line.steps, r.line.steps[1:])
                          if s.state.in_service != prev.state.in_service), key=lambda c: c[0])
        starts = [r.line.first_tested for r in self.racks if r.line.first_tested is not None]
        if not starts:
            return pd.DataFrame(columns=["time", "gpus", "rack", "state"])
        rows, total = [(min(starts), 0, "", "first test")], 0
        for time, r, step, _ in changes:
            total += r.rack.gpus if step.state.in_service else -r.rack.gpus
            rows.append((time, total, r.rack.name, step.state.label))
        rows.append((max(self.as_of, rows[-1][0]), total, "", "now"))
        return pd.DataFrame(rows, columns=["time", "gpus", "rack", "state"])

    def per_day(self) -> pd.DataFrame:
        """GPUs qualified each day (UTC): those of each rack a qualify verdict qualified (or re-qualified)
        that day, from a state not qualified (a run that only confirms a qualified rack again is not one)."""
        days: dict[str, list[RackView]] = {}
        for r in self.racks:
            for prev, step in zip(r.line.steps, r.line.steps[1:]):
                if step.state.in_service and not prev.state.in_service and step.finding.source is Source.QUALIFY:
                    days.setdefault(step.time.strftime("%Y-%m-%d"), []).append(r)
        rows = [(pd.Timestamp(day), sum(r.rack.gpus for r in racks), [r.rack.name for r in racks])
                for day, racks in sorted(days.items())]
        return pd.DataFrame(rows, columns=["date", "gpus", "racks"])

    def median_days_to_qualified(self) -> tuple[float | None, int]:
        """The median time in days from a rack's first record to its first qualification, over the racks qualified."""
        spans = [(first.time - r.line.first_tested).total_seconds() / DAY_S
                 for r in self.racks if (first := r.line.first_qualified()) is not None]
        return (statistics.median(spans) if spans else None), len(spans)

    def failed_more_than_once(self) -> list[RackView]:
        return sorted((r for r in self.racks if len(r.line.failures) > 1), key=lambda r: -len(r.line.failures))


def duration(days: float) -> str:
    """A span of days as a crew says it: 2.4 days, 3.5 hours, 12 min."""
    if days >= 1:
        return f"{days:.1f} days"
    return f"{days * 24:.1f} hours" if days * 24 >= 1 else f"{days * 1440:.0f} min"


def _date(time: pd.Timestamp | None) -> str:
    return time.strftime("%Y-%m-%d") if time is not None else "?"


def _view(rack: Rack, evidence: Evidence, parts: list[Part]) -> RackView:
    """One rack's timelines: its own, each host's and each GPU slot's the inventory lists."""
    hosts, gpus = {}, {}
    for host in rack.hosts:
        found, first = evidence.host_findings(host)
        hosts[host.name] = timeline(found, first)
        for gpu in range(host.gpus):
            gpus[(host.name, gpu)] = timeline(evidence.gpu_findings(host, gpu, found), first)
    found, first = evidence.rack_findings(rack)
    return RackView(rack, timeline(found, first), hosts, gpus, [p for p in parts if p.rack == rack.name])


def assess(inventory: str | os.PathLike, history: str | os.PathLike, *,
           as_of: pd.Timestamp | str | None = None) -> Board:
    """The board of the inventory's racks from the history's records, as of `as_of` (default now, UTC).
    BadInput (`path: what is wrong`) when the inventory or the history cannot be read."""
    listed = read_inventory(inventory)
    evidence = read_history(history, listed)
    parts = evidence.parts(listed)
    racks = [_view(rack, evidence, parts) for rack in listed.racks]
    known = {r.name for r in listed.racks}
    strangers = sorted(set(evidence.touches["rack"].dropna().astype(str)) - known)
    when = pd.Timestamp.now(tz="UTC") if as_of is None else pd.Timestamp(as_of)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    return Board(listed, str(history), when, racks, strangers)
