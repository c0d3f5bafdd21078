"""The bring-up board's states, and how a rack, a host or a GPU moves between them: pure, from the
findings the history holds about it (rackqual.board_evidence reads them), no I/O.

A finding is one run's word on one subject: the verdict record `qualify` wrote for it (a rack's,
a node's or a GPU's), or the outcome of any other run that touched it (a nightly sweep, a smoke run).
The state machine, in time order:

    no record at all                           never_tested
    records, no qualify verdict yet            qualifying
    qualify verdict pass (or warn)             qualified, or requalified if it ever failed before
    qualify verdict fail                       failed
    qualify verdict error (or none it knows)   undecided: the qualification could not decide
    while qualified: a later run fails it      regressed (until a later qualify verdict)
    while qualified: a later run errors, or    undecided (until a later run passes it, or a
      died before it finished                    qualify verdict)

A later run's failure counts only once a subject is qualified: before, it is part of its bring-up,
and after a failed qualification the subject is failed until qualified again.
"""
from __future__ import annotations

import dataclasses
import enum

import pandas as pd

__all__ = ["State", "Source", "Outcome", "Finding", "Step", "Timeline", "timeline"]


class State(str, enum.Enum):
    """Where a rack, host or GPU stands in its bring-up (a str, so that a frame's column reads as text)."""
    NEVER_TESTED = "never_tested"
    QUALIFYING = "qualifying"
    QUALIFIED = "qualified"
    REQUALIFIED = "requalified"
    FAILED = "failed"
    REGRESSED = "regressed"
    UNDECIDED = "undecided"

    def __str__(self) -> str:   # its text, as in a frame, a file or a label
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def in_service(self) -> bool:
        """Qualified and not failed since: the GPUs a bring-up counts as done."""
        return self in (State.QUALIFIED, State.REQUALIFIED)

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {State.NEVER_TESTED: "never tested", State.QUALIFYING: "qualifying", State.QUALIFIED: "qualified",
          State.REQUALIFIED: "re-qualified", State.FAILED: "failed", State.REGRESSED: "regressed",
          State.UNDECIDED: "undecided"}


class Source(enum.Enum):
    """Where a finding comes from."""
    QUALIFY = "qualify"   # a verdict record `qualify` wrote for the subject
    RUN = "run"           # any other run that touched the subject


class Outcome(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    UNDECIDED = "undecided"   # an error verdict, a run that died: no word either way

    @classmethod
    def of_verdict(cls, verdict: str | None) -> Outcome:
        """A verdict's outcome: pass and warn pass, fail fails, anything else (error, skip, none) decides nothing."""
        if verdict in ("pass", "warn"):
            return cls.PASS
        return cls.FAIL if verdict == "fail" else cls.UNDECIDED


@dataclasses.dataclass(frozen=True)
class Finding:
    """One run's word on one subject."""
    time: pd.Timestamp
    run_id: str
    source: Source
    outcome: Outcome
    reason: str = ""


@dataclasses.dataclass(frozen=True)
class Step:
    """The subject entered `state` at `time`, moved by `finding` (None: its first test)."""
    time: pd.Timestamp
    state: State
    finding: Finding | None


@dataclasses.dataclass
class Timeline:
    """A subject's states over time; `decided_by` is the latest finding that set or confirmed its
    state, `qualified_by` its latest passing qualify verdict, `failures` each finding that failed
    it (a failed qualification, a regression)."""
    steps: list[Step]
    decided_by: Finding | None = None
    qualified_by: Finding | None = None
    failures: list[Finding] = dataclasses.field(default_factory=list)

    @property
    def state(self) -> State:
        return self.steps[-1].state if self.steps else State.NEVER_TESTED

    @property
    def since(self) -> pd.Timestamp | None:
        return self.steps[-1].time if self.steps else None

    @property
    def first_tested(self) -> pd.Timestamp | None:
        return self.steps[0].time if self.steps else None

    def first_qualified(self) -> Step | None:
        """The first step into a qualified state."""
        return next((s for s in self.steps if s.state.in_service), None)


def timeline(findings: list[Finding], first_tested: pd.Timestamp | None) -> Timeline:
    """A subject's timeline from its findings and the time of its first record (None: none)."""
    if first_tested is None and not findings:
        return Timeline([])
    ordered = sorted(findings, key=lambda f: (f.time, f.run_id))
    start = min([t for t in [first_tested, ordered[0].time if ordered else None] if t is not None])
    line = Timeline([Step(start, State.QUALIFYING, None)])
    base, overlay, failed_before = State.QUALIFYING, None, False
    for f in ordered:
        if f.source is Source.QUALIFY:
            overlay = None
            if f.outcome is Outcome.PASS:
                base = State.REQUALIFIED if failed_before else State.QUALIFIED
                line.qualified_by = f
            elif f.outcome is Outcome.FAIL:
                base, failed_before = State.FAILED, True
                line.failures.append(f)
            else:
                base = State.UNDECIDED
            line.decided_by = f
        elif base.in_service and overlay is not State.REGRESSED:
            overlay = _after_qualified(f, overlay, line)
            failed_before = failed_before or overlay is State.REGRESSED
        else:
            continue   # before qualification, or once failed or regressed: no change
        state = overlay or base
        if state is not line.steps[-1].state:
            line.steps.append(Step(f.time, state, f))
    return line


def _after_qualified(f: Finding, overlay: State | None, line: Timeline) -> State | None:
    """What a later run makes of a qualified subject: regressed on a failure, undecided on an
    error or a run that died, back to qualified when it passes."""
    if f.outcome is Outcome.FAIL:
        line.failures.append(f)
        line.decided_by = f
        return State.REGRESSED
    if f.outcome is Outcome.UNDECIDED:
        if overlay is not State.UNDECIDED:
            line.decided_by = f
        return State.UNDECIDED
    if overlay is State.UNDECIDED:
        line.decided_by = line.qualified_by
    return None
