"""What the history says about each rack, host and GPU of an inventory, for the bring-up board:
the verdict records `qualify` writes (`check: qualify`, one per GPU, node and rack), every other
run that touched them, their fail and error records (isolation's culprits among them, its probes
left out), and the parts those name. Read with DuckDB from the history's `records` and `runs`
views; nothing is written anywhere.

A record belongs to the inventory's host of its `host` (the exact name, else its short name) and
to that host's rack; a record of a host the inventory does not list keeps its own `rack`.
"""
from __future__ import annotations

import dataclasses
import enum
import math
import os
import pathlib
from collections import defaultdict

import duckdb
import pandas as pd

from rackqual import _core
from rackqual.board_states import Finding, Outcome, Source
from rackqual.errors import BadInput, first_line
from rackqual.frames import number, text

__all__ = ["Host", "Rack", "Inventory", "read_inventory", "PartKind", "Part", "Evidence", "read_history"]

# The scopes whose records are a host's own (a GPU's, its node's), and isolation's culprits of one member.
HOST_SCOPES = ("gpu", "node", "nvlink_domain")
MEMBER_CULPRITS = ("slow_member", "dead_member")
# A run's status in the history's runs table when it ended before its records were all written.
UNFINISHED = ("incomplete", "aborted")


@dataclasses.dataclass(frozen=True)
class Host:
    name: str
    rack: str
    gpus: int


@dataclasses.dataclass(frozen=True)
class Rack:
    name: str
    hosts: tuple[Host, ...]

    @property
    def gpus(self) -> int:
        return sum(h.gpus for h in self.hosts)


@dataclasses.dataclass(frozen=True)
class Inventory:
    path: str
    cluster: str
    racks: tuple[Rack, ...]

    @property
    def gpus(self) -> int:
        return sum(r.gpus for r in self.racks)

    def hosts(self) -> pd.DataFrame:
        return pd.DataFrame([(h.name, h.rack, h.gpus) for r in self.racks for h in r.hosts],
                            columns=["host", "rack", "gpus"]).astype({"host": str, "rack": str, "gpus": "int64"})


def read_inventory(path: str | os.PathLike) -> Inventory:
    """The inventory as `rackqual run --inventory` reads it; BadInput (`file:line: field: what`) when it cannot."""
    try:
        listed = _core.load_inventory(str(path))
    except (ValueError, RuntimeError) as e:
        raise BadInput(first_line(e)) from None
    racks = tuple(Rack(r["name"], tuple(Host(h["name"], r["name"], int(h["gpus"])) for h in r["hosts"]))
                  for r in listed["racks"])
    return Inventory(str(path), listed["cluster"], racks)


class PartKind(enum.Enum):
    HOST = "host"
    LINK = "link"


@dataclasses.dataclass
class Part:
    """A host or link named as a culprit and not qualified since: what a crew pulls."""
    kind: PartKind
    name: str
    rack: str
    hosts: tuple[str, ...]
    time: pd.Timestamp   # when it was last named
    run_id: str          # the run that last named it
    evidence: list[str]
    runs: list[str] = dataclasses.field(default_factory=list)   # every run that named it since it last passed

    @property
    def label(self) -> str:
        return f"{self.kind.value} {self.name}"


# Every record with the inventory's host and rack beside its own; isolation's fields taken out.
PLACED = """
CREATE TEMP VIEW placed AS
SELECT r.run_id, r.time, r."check", r.scope, r."group", r.rank, r.metric, r.value, r.unit, r.verdict, r.reason,
       r.rack AS own_rack, r.device.index AS gpu, r.device.serial AS serial,
       COALESCE(a.host, b.host, r.host) AS host, COALESCE(a.rack, b.rack, r.rack) AS rack,
       json_extract_string(r.isolation, '$.culprit') AS culprit,
       json_extract_string(r.isolation, '$.member') AS member, json_extract_string(r.isolation, '$.peer') AS peer,
       json_extract(r.isolation, '$.probe') IS NOT NULL AS probe
FROM records r
LEFT JOIN inventory a ON a.host = r.host
LEFT JOIN inventory b ON a.host IS NULL AND b.host = split_part(r.host, '.', 1)
"""
TOUCHES = """SELECT run_id, rack, host, min(time) AS first, max(time) AS last FROM placed
             WHERE host IS NOT NULL GROUP BY run_id, rack, host"""
# A GPU verdict's slot is its rank's device in the run's own gpu-scope records (the verdict record
# carries the device of the run's first rank), else its place among its host's ranks.
VERDICTS = """
WITH verdicts AS (SELECT * FROM placed WHERE "check" = 'qualify'),
slots AS (SELECT run_id, rank, min(gpu) AS gpu, min(serial) AS serial FROM placed
          WHERE scope = 'gpu' AND "check" <> 'qualify' AND run_id IN (SELECT run_id FROM verdicts)
          GROUP BY run_id, rank)
SELECT v.run_id, v.time, v.scope, v."group", v.host, v.own_rack AS rack, v.rank, v.verdict, v.reason,
       CASE WHEN v.scope = 'gpu' THEN COALESCE(s.gpu, row_number() OVER (PARTITION BY v.run_id, v.scope, v.host
                                                                            ORDER BY v.rank) - 1) END AS gpu,
       CASE WHEN v.scope = 'gpu' THEN s.serial END AS serial
FROM verdicts v LEFT JOIN slots s ON s.run_id = v.run_id AND s.rank = v.rank
"""
PROBLEMS = """SELECT run_id, time, "check", scope, "group", host, rack, gpu, serial, metric, value, unit, verdict,
                     reason, culprit, member, peer FROM placed
              WHERE "check" <> 'qualify' AND verdict IN ('fail', 'error') AND NOT probe"""


# The columns the board reads, for a history that has committed no run yet.
EMPTY = """
CREATE VIEW runs AS SELECT NULL::VARCHAR AS run_id, NULL::VARCHAR AS status WHERE false;
CREATE VIEW records AS SELECT NULL::VARCHAR AS run_id, NULL::TIMESTAMPTZ AS time, NULL::VARCHAR AS "check",
    NULL::VARCHAR AS scope, NULL::VARCHAR AS "group", NULL::INTEGER AS rank, NULL::VARCHAR AS host,
    NULL::VARCHAR AS rack, NULL::STRUCT("index" INTEGER, serial VARCHAR) AS device, NULL::VARCHAR AS metric,
    NULL::DOUBLE AS value, NULL::VARCHAR AS unit, NULL::VARCHAR AS verdict, NULL::VARCHAR AS reason,
    NULL::VARCHAR AS isolation WHERE false;
"""


def _quote(path: pathlib.Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _connect(path: pathlib.Path) -> duckdb.DuckDBPyConnection:
    """The history's views `runs` and `records` (its committed runs' records), read from its files as
    any reader of its documented layout does: runs/*.parquet commit runs, records/date=*/ hold their
    records. (rackqual.history imports the package, which exports the board: the board may not.)"""
    con = duckdb.connect()
    if not any((path / "runs").glob("*.parquet")):
        con.execute(EMPTY)
        return con
    con.execute(f"CREATE VIEW runs AS SELECT * FROM read_parquet({_quote(path / 'runs' / '*.parquet')}, "
                "union_by_name = true)")
    con.execute(f"CREATE VIEW records AS SELECT * FROM read_parquet({_quote(path / 'records' / '*' / '*.parquet')}, "
                "hive_partitioning = true, union_by_name = true) WHERE run_id IN (SELECT run_id FROM runs)")
    return con


def read_history(path: str | os.PathLike, inventory: Inventory) -> Evidence:
    """The evidence the board needs from the history at `path`; BadInput when it is not one or
    cannot be read."""
    path = pathlib.Path(path)
    if not path.exists():
        raise BadInput(f"{path}: no such folder (the history)")
    if not (path / "runs").is_dir():
        raise BadInput(f"{path}: not a history (no runs folder; `rackqual ingest RESULTS --into {path}` makes one)")
    con = None
    try:
        con = _connect(path)
        con.register("inventory", inventory.hosts())
        con.execute(PLACED)
        frames = [con.execute(sql).df() for sql in (TOUCHES, VERDICTS, PROBLEMS)]
        runs = con.execute("SELECT * FROM runs").df()
    except duckdb.ParserException:   # the board's own SQL: not the input's fault
        raise
    except (duckdb.Error, OSError) as e:   # a history whose files DuckDB cannot read
        raise BadInput(f"{path}: {first_line(e)}") from None
    finally:
        if con is not None:
            con.close()
    status = runs["status"] if "status" in runs else pd.Series(None, index=runs.index, dtype=object)
    return Evidence(*frames, {r: s for r, s in zip(runs["run_id"], status) if isinstance(s, str)})


def _rows(frame: pd.DataFrame) -> list[dict]:
    """A frame's rows as dicts, missing values as None and times as UTC timestamps."""
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for row in out:
        for key in ("time", "first", "last"):
            if row.get(key) is not None:
                t = pd.Timestamp(row[key])
                row[key] = t.tz_convert("UTC") if t.tzinfo else t.tz_localize("UTC")
    return out


def describe(p: dict) -> str:
    """A fail or error record as evidence: what, where, the figure, its reason and its run."""
    if p.get("culprit"):
        return f"{p['reason']} ({p['check']}, run {p['run_id']})"
    what = " ".join(text(p.get(k)) for k in ("check", "metric", "verdict") if text(p.get(k)))
    if p.get("scope") == "gpu" and p.get("gpu") is not None:
        where = f"{p['host']} GPU {int(p['gpu'])}" + (f" (serial {p['serial']})" if p.get("serial") else "")
    else:
        where = f"{text(p.get('scope'))} {text(p.get('group'))}".strip() or text(p.get("host"))
    value = p.get("value")
    figure = f" = {number(value, text(p.get('unit')))}" if isinstance(value, float) and math.isfinite(value) else ""
    return f"{what} on {where}{figure}: {text(p.get('reason'))} (run {p['run_id']})"


def owned_by_rack(p: dict, rack: str) -> bool:
    """A problem record that is the rack's own: a GPU's, a node's, a culprit, or the rack's group figure
    (a span's cluster figure belongs to no one rack: isolation names its culprit)."""
    scope = p.get("scope")
    return bool(p.get("culprit")) or scope in HOST_SCOPES or (scope == "rack" and p.get("group") == rack)


def owned_by_host(p: dict, host: str) -> bool:
    """A problem record that is the host's own: its GPUs', its node's, or a culprit naming it alone
    (a slow link is the link's, never either end's)."""
    if p.get("culprit"):
        return p["culprit"] in MEMBER_CULPRITS and p.get("host") == host
    if p.get("scope") == "gpu":
        return p.get("host") == host
    return p.get("scope") in HOST_SCOPES and p.get("group") == host


def owned_by_gpu(p: dict, host: str, gpu: int) -> bool:
    return not p.get("culprit") and p.get("scope") == "gpu" and p.get("host") == host and p.get("gpu") == gpu


def link_hosts(p: dict) -> tuple[str, ...]:
    """The hosts at the ends of a slow link culprit (a member within one host is `HOST rank N`)."""
    peer = text(p.get("peer")).split(" rank ")[0]
    return tuple(dict.fromkeys([text(p.get("host")), peer]))


@dataclasses.dataclass
class Evidence:
    """The history's records the board reads, indexed by who they are about."""
    touches: pd.DataFrame    # run_id, rack, host, first, last: who each run touched, and when
    verdicts: pd.DataFrame   # the qualify verdict records
    problems: pd.DataFrame   # fail and error records, isolation's probes left out
    status: dict[str, str]   # run_id -> its status in the runs table

    def __post_init__(self) -> None:
        self.rack_verdicts: dict[str, dict[str, dict]] = defaultdict(dict)   # rack -> run_id -> verdict
        self.qualified_in: dict[str, set[str]] = defaultdict(set)            # run_id -> the racks it qualifies
        self.node_verdicts: dict[str, list[dict]] = defaultdict(list)        # host -> its node verdicts
        self.gpu_verdicts: dict[tuple[str, int], list[dict]] = defaultdict(list)   # (host, slot) -> verdicts
        self.gpu_verdicts_of: dict[tuple[str, str], list[dict]] = defaultdict(list)   # (run_id, host) -> verdicts
        for v in _rows(self.verdicts):
            if v["scope"] == "rack":
                self.rack_verdicts[v["group"]][v["run_id"]] = v
                self.qualified_in[v["run_id"]].add(v["group"])
            elif v["scope"] == "node":
                self.node_verdicts[v["group"]].append(v)
            elif v["scope"] == "gpu" and v["gpu"] is not None:
                self.gpu_verdicts[(v["host"], int(v["gpu"]))].append(v)
                self.gpu_verdicts_of[(v["run_id"], v["host"])].append(v)
        self.problems_of: dict[str, list[dict]] = defaultdict(list)   # run_id -> its problem records
        for p in _rows(self.problems):
            self.problems_of[p["run_id"]].append(p)
        self.rack_runs = self._runs_by("rack")
        self.host_runs = self._runs_by("host")

    def _runs_by(self, key: str) -> dict[str, dict[str, dict]]:
        """Each rack's (or host's) runs: run_id -> first and last record time."""
        out: dict[str, dict[str, dict]] = defaultdict(dict)
        if not len(self.touches):
            return out
        spans = self.touches.groupby([key, "run_id"], sort=False).agg(first=("first", "min"), last=("last", "max"))
        for row in _rows(spans.reset_index()):
            out[row[key]][row["run_id"]] = row
        return out

    def first_tested(self, runs: dict[str, dict]) -> pd.Timestamp | None:
        return min((r["first"] for r in runs.values()), default=None)

    def qualify_runs(self, rack: str) -> set[str]:
        return set(self.rack_verdicts.get(rack, {}))

    def run_finding(self, run_id: str, time: pd.Timestamp, own: list[dict]) -> Finding:
        """A run's word on a subject from its own problem records and how the run ended."""
        fails = [p for p in own if p["verdict"] == "fail"]
        errors = [p for p in own if p["verdict"] == "error"]
        status = self.status.get(run_id)
        if fails:
            return Finding(time, run_id, Source.RUN, Outcome.FAIL, "; ".join(describe(p) for p in fails[:3]))
        if errors:
            return Finding(time, run_id, Source.RUN, Outcome.UNDECIDED, "; ".join(describe(p) for p in errors[:3]))
        if status in UNFINISHED:
            return Finding(time, run_id, Source.RUN, Outcome.UNDECIDED, f"run {run_id} {status}: it ended unfinished")
        return Finding(time, run_id, Source.RUN, Outcome.PASS)

    # -----------------------------------------------------------------------------------------
    # Findings per subject

    def rack_findings(self, rack: Rack) -> tuple[list[Finding], pd.Timestamp | None]:
        """A rack's qualify verdicts, the outcome of every other run that touched it, and its first record."""
        verdicts = self.rack_verdicts.get(rack.name, {})
        runs = self.rack_runs.get(rack.name, {})
        findings = [_verdict(v) for v in verdicts.values()]
        for run, span in runs.items():
            if run not in verdicts:
                own = [p for p in self.problems_of.get(run, [])
                       if p["rack"] == rack.name and owned_by_rack(p, rack.name)]
                findings.append(self.run_finding(run, span["last"], own))
        return findings, self.first_tested(runs)

    def host_findings(self, host: Host) -> tuple[list[Finding], pd.Timestamp | None]:
        """A host's node verdicts, the outcome for it of every other run that touched it, and its first record."""
        qualify = self.qualify_runs(host.rack)
        runs = self.host_runs.get(host.name, {})
        findings = [_verdict(v) for v in self.node_verdicts.get(host.name, []) if v["run_id"] in qualify]
        for run, span in runs.items():
            if run not in qualify:
                own = [p for p in self.problems_of.get(run, []) if owned_by_host(p, host.name)]
                findings.append(self.run_finding(run, span["last"], own))
        return findings, self.first_tested(runs)

    def gpu_findings(self, host: Host, gpu: int, of_host: list[Finding]) -> list[Finding]:
        """A GPU slot's verdicts, and its outcome in the runs that touched its host. A qualify run that
        judged the host but wrote no verdict for this slot did not see the GPU: undecided, not a pass."""
        verdicts = self.gpu_verdicts.get((host.name, gpu), [])
        findings = [_verdict(v) for v in verdicts]
        judged = {v["run_id"] for v in verdicts}
        for f in of_host:
            if f.source is Source.QUALIFY and f.run_id not in judged:
                findings.append(Finding(f.time, f.run_id, Source.QUALIFY, Outcome.UNDECIDED,
                                        f"qualify run {f.run_id} judged {host.name} without a verdict for GPU {gpu}"))
            elif f.source is Source.RUN:
                own = [p for p in self.problems_of.get(f.run_id, []) if owned_by_gpu(p, host.name, gpu)]
                findings.append(self.run_finding(f.run_id, f.time, own))
        return findings

    # -----------------------------------------------------------------------------------------
    # Parts to pull

    def parts(self, inventory: Inventory) -> list[Part]:
        """Hosts and links named as culprits and not qualified since, newest first."""
        cleared = self._clearings()
        named: dict[tuple[PartKind, str], list[Part]] = defaultdict(list)
        for part in self._namings(inventory):
            if part.time > cleared.get((part.kind, part.name), pd.Timestamp.min.tz_localize("UTC")):
                named[(part.kind, part.name)].append(part)
        out = []
        for namings in named.values():
            namings.sort(key=lambda p: p.time, reverse=True)
            latest = namings[0]
            evidence = list(dict.fromkeys(line for p in namings for line in p.evidence))
            runs = list(dict.fromkeys(p.run_id for p in namings))
            out.append(dataclasses.replace(latest, evidence=evidence, runs=runs))
        return sorted(out, key=lambda p: (p.rack, p.kind.value, p.name))

    def _namings(self, inventory: Inventory):
        """Every time a host or link was named: a node's failed qualify verdict (with its own failed
        records as evidence; one failed only by a slow link on it names the link), isolation's
        culprits, and a host's own failed records in any other run."""
        racks = {h.name: h.rack for r in inventory.racks for h in r.hosts}
        for host, verdicts in self.node_verdicts.items():
            for v in verdicts:
                if Outcome.of_verdict(v["verdict"]) is Outcome.FAIL:
                    yield from self._node_naming(v, host, racks.get(host, text(v.get("rack"))))
        for run, problems in self.problems_of.items():
            qualify = self.qualified_in.get(run, set())
            for p in problems:
                if p["verdict"] != "fail":
                    continue
                if p.get("culprit") == "slow_link":
                    name = f"{p['member']} <-> {p['peer']}"
                    yield Part(PartKind.LINK, name, text(p["rack"]), link_hosts(p), p["time"], run, [describe(p)])
                elif (p.get("culprit") or p.get("scope") in HOST_SCOPES) and p.get("host") and p["rack"] not in qualify:
                    if owned_by_host(p, p["host"]):
                        yield Part(PartKind.HOST, p["host"], text(p["rack"]), (p["host"],), p["time"], run,
                                   [describe(p)])

    def _node_naming(self, v: dict, host: str, rack: str):
        problems = self.problems_of.get(v["run_id"], [])
        own = [p for p in problems if owned_by_host(p, host)]
        links = [p for p in problems if p.get("culprit") == "slow_link" and host in link_hosts(p)]
        if own:
            evidence = [describe(p) for p in own]
        elif links:
            return   # the link is the part, not the host at its end
        else:
            gpus = [g for g in self.gpu_verdicts_of.get((v["run_id"], host), [])
                    if Outcome.of_verdict(g["verdict"]) is not Outcome.PASS]
            evidence = [f"qualify GPU {int(g['gpu'])} of {host} {g['verdict']}: {g['reason']} (run {g['run_id']})"
                        for g in gpus] + [f"qualify node {host} {v['verdict']}: {v['reason']} (run {v['run_id']})"]
        yield Part(PartKind.HOST, host, rack, (host,), v["time"], v["run_id"], evidence)

    def _clearings(self) -> dict[tuple[PartKind, str], pd.Timestamp]:
        """When each host, and each link, last passed a qualification: a host by its node verdict, a
        link by a rack verdict that passed in a qualify run both its ends took part in."""
        out: dict[tuple[PartKind, str], pd.Timestamp] = {}
        for host, verdicts in self.node_verdicts.items():
            for v in verdicts:
                if Outcome.of_verdict(v["verdict"]) is Outcome.PASS:
                    out[(PartKind.HOST, host)] = max(v["time"], out.get((PartKind.HOST, host), v["time"]))
        passed = {run: v["time"] for runs in self.rack_verdicts.values() for run, v in runs.items()
                  if Outcome.of_verdict(v["verdict"]) is Outcome.PASS}
        hosts_of = self.touches[self.touches["run_id"].isin(list(passed))].groupby("run_id")["host"].agg(set)
        for problems in self.problems_of.values():
            for p in problems:
                if p.get("culprit") != "slow_link":
                    continue
                key = (PartKind.LINK, f"{p['member']} <-> {p['peer']}")
                for run, time in passed.items():
                    if set(link_hosts(p)) <= hosts_of.get(run, set()):
                        out[key] = max(time, out.get(key, time))
        return out


def _verdict(v: dict) -> Finding:
    """A qualify verdict record as a finding."""
    return Finding(v["time"], v["run_id"], Source.QUALIFY, Outcome.of_verdict(v["verdict"]), text(v.get("reason")))
