"""The bring-up board's gauges as a textfile for node_exporter's textfile collector, in the
exposition format `promtool check metrics` accepts: base units (seconds, Unix timestamps), a
state-set per rack (1 for its state, 0 for every other), and the cluster's progress.
"""
from __future__ import annotations

from rackqual.board_racks import Board
from rackqual.board_states import State

__all__ = ["textfile", "METRICS"]

# name: what it says (its HELP line). Every gauge carries the label cluster.
METRICS = {
    "rackqual_board_rack_state": "The rack's bring-up state: 1 for the state it is in, 0 for the others.",
    "rackqual_board_rack_state_since_timestamp_seconds": "When the rack entered its state (Unix time); "
                                                         "none if never tested.",
    "rackqual_board_rack_failures": "The rack's failed qualifications and regressions since its first test.",
    "rackqual_board_rack_hosts": "The rack's hosts in each state.",
    "rackqual_board_rack_gpus": "The rack's GPUs in each state.",
    "rackqual_board_rack_parts_to_pull": "Hosts and links of the rack named as culprits and not qualified since.",
    "rackqual_board_part_to_pull": "1 for each host or link named as a culprit and not qualified since.",
    "rackqual_board_inventory_gpus": "The GPUs the inventory lists.",
    "rackqual_board_qualified_gpus": "The GPUs of the racks qualified or re-qualified now.",
    "rackqual_board_racks": "The racks in each state.",
    "rackqual_board_first_test_to_qualified_median_seconds": "Median time from a rack's first test to its "
                                                             "qualification.",
    "rackqual_board_racks_failed_more_than_once": "Racks that failed (a qualification or a regression) more than once.",
    "rackqual_board_as_of_timestamp_seconds": "The time the board describes (Unix time).",
}


def _label(value: str) -> str:
    """A label value escaped as the exposition format wants (backslash, double quote, newline)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _sample(name: str, labels: dict[str, str], value: float) -> str:
    inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
    return f"{name}{{{inner}}} {value:.17g}" if isinstance(value, float) else f"{name}{{{inner}}} {value}"


def _samples(b: Board) -> dict[str, list[str]]:
    """Every gauge's samples, by metric name."""
    c = {"cluster": b.inventory.cluster}
    out: dict[str, list[str]] = {name: [] for name in METRICS}
    for r in b.racks:
        rack = {**c, "rack": r.rack.name}
        out["rackqual_board_rack_state"] += [_sample("rackqual_board_rack_state", {**rack, "state": s.value},
                                                     int(s is r.state)) for s in State]
        if r.line.since is not None:
            out["rackqual_board_rack_state_since_timestamp_seconds"].append(
                _sample("rackqual_board_rack_state_since_timestamp_seconds", rack, r.line.since.timestamp()))
        out["rackqual_board_rack_failures"].append(_sample("rackqual_board_rack_failures", rack, len(r.line.failures)))
        for what, timelines in (("hosts", r.hosts), ("gpus", r.gpus)):
            name = f"rackqual_board_rack_{what}"
            out[name] += [_sample(name, {**rack, "state": s.value}, n) for s, n in r.counts(timelines).items()]
        out["rackqual_board_rack_parts_to_pull"].append(
            _sample("rackqual_board_rack_parts_to_pull", rack, len(r.parts)))
        out["rackqual_board_part_to_pull"] += [
            _sample("rackqual_board_part_to_pull", {**rack, "kind": p.kind.value, "part": p.name}, 1) for p in r.parts]
    out["rackqual_board_inventory_gpus"].append(_sample("rackqual_board_inventory_gpus", c, b.inventory.gpus))
    out["rackqual_board_qualified_gpus"].append(_sample("rackqual_board_qualified_gpus", c, b.gpus_qualified()))
    out["rackqual_board_racks"] += [_sample("rackqual_board_racks", {**c, "state": s.value},
                                            sum(1 for r in b.racks if r.state is s)) for s in State]
    median, _ = b.median_days_to_qualified()
    if median is not None:
        out["rackqual_board_first_test_to_qualified_median_seconds"].append(
            _sample("rackqual_board_first_test_to_qualified_median_seconds", c, median * 86400.0))
    out["rackqual_board_racks_failed_more_than_once"].append(
        _sample("rackqual_board_racks_failed_more_than_once", c, len(b.failed_more_than_once())))
    out["rackqual_board_as_of_timestamp_seconds"].append(_sample("rackqual_board_as_of_timestamp_seconds", c,
                                                                 b.as_of.timestamp()))
    return out


def textfile(b: Board) -> str:
    """The board's gauges in the text exposition format; a metric without samples is left out."""
    lines = []
    for name, samples in _samples(b).items():
        if samples:
            lines += [f"# HELP {name} {METRICS[name]}", f"# TYPE {name} gauge", *samples]
    return "\n".join(lines) + "\n"
