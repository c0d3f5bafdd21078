"""The bring-up board on a real history: `rackqual qualify` and `rackqual run` on the host backend
over hosts named through RACKQUAL_HOST (the documented seam for several hosts on one machine), with
injected faults, ingested by `rackqual ingest`; then every rack's state, its hosts' and GPUs', the
parts to pull and the cluster's progress as the board derives them, its page rendered in headless
Chromium (no console error, no network request, no empty plot; a screenshot kept under
$RACKQUAL_BUILD/test-artifacts/board.png), its Prometheus textfile checked by promtool, and bad
input refused in one line with exit 2."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
from playwright.sync_api import sync_playwright

import rackqual
from rackqual import __main__ as entry
from rackqual import _core
from rackqual.board import State, assess
from rackqual.board_evidence import Evidence, Host, Inventory, PartKind, Rack
from rackqual.board_states import Finding, Outcome, Source, timeline

from conftest import BIN, BUILD, MPIEXEC, PACKAGE, open_offline

ARTIFACTS = BUILD / "test-artifacts"

# Seven racks, each in the state one drill below leaves it in. rb has one host of two GPUs, ra
# four GPUs a host; the others two hosts of one GPU, so that a run is two ranks (seconds).
INVENTORY = """\
cluster: lab-east
racks:
  - name: ra          # never tested
    gpus: 4
    hosts: [ra-h0, ra-h1]
  - name: rb          # qualified
    hosts:
      - {name: rb-h0, gpus: 2}
  - name: rc          # failed: rc-h1's GPU computes wrong
    gpus: 1
    hosts: [rc-h0, rc-h1]
  - name: rd          # failed twice, repaired, re-qualified
    gpus: 1
    hosts: [rd-h0, rd-h1]
  - name: re          # qualified, then its nightly run fails re-h1
    gpus: 1
    hosts: [re-h0, re-h1]
  - name: rf          # in a nightly run, never qualified
    gpus: 1
    hosts: [rf-h0, rf-h1]
  - name: rg          # its qualification errors: undecided
    gpus: 1
    hosts: [rg-h0, rg-h1]
"""

LADDER = """\
name: {name}
platform: host
defaults: {{repetitions: 2, min_time: 0.005s, deadline: 60s}}
checks:
  - id: gemm
    kind: gemm
    scope: gpu
    params: {{m: 64, n: 64, k: 64, dtype: fp64}}
    criteria:
      tflops: {{min: 1e-6}}
  - id: rack-reduce
    kind: allreduce
    scope: rack
    params: {{sizes: [64KiB]}}
    criteria:
      busbw_gbps: {{min: 1e-6}}
"""

EXPECTED = {"ra": State.NEVER_TESTED, "rb": State.QUALIFIED, "rc": State.FAILED, "rd": State.REQUALIFIED,
            "re": State.REGRESSED, "rf": State.QUALIFYING, "rg": State.UNDECIDED}


@dataclasses.dataclass
class Cluster:
    inventory: pathlib.Path
    history: pathlib.Path
    runs: dict[str, str]   # drill -> run_id
    gpus: dict[str, int]   # rack -> GPUs the inventory lists
    started: pd.Timestamp
    ended: pd.Timestamp


def python_m(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "rackqual", *args], capture_output=True, text=True, env=env,
                          timeout=300, stdin=subprocess.DEVNULL)


def launch(out: pathlib.Path, command: list[str], hosts: dict[str, int]) -> str:
    """Runs `rackqual COMMAND` with a rank per GPU on each named host; returns the run's id."""
    words = [MPIEXEC]
    for host, gpus in hosts.items():
        words += ([":"] if len(words) > 1 else []) + ["-n", str(gpus), "-env", "RACKQUAL_HOST", host, BIN, *command,
                                                     "--out", str(out)]
    before = set(out.iterdir()) if out.exists() else set()
    proc = subprocess.run(words, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode in (0, 1, 3), proc.stdout + proc.stderr
    (made,) = set(out.iterdir()) - before
    return made.name


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    """The drills, in order, into one results tree, then ingested into a history."""
    tmp = tmp_path_factory.mktemp("board")
    inventory, out = tmp / "cluster.yaml", tmp / "results"
    inventory.write_text(INVENTORY)
    (tmp / "bringup.yaml").write_text(LADDER.format(name="bringup"))
    (tmp / "nightly.yaml").write_text(LADDER.format(name="nightly"))
    qualify = ["qualify", "--inventory", str(inventory), "--suite", str(tmp / "bringup.yaml"), "--rack"]
    two = {"rc": {"rc-h0": 1, "rc-h1": 1}, "rd": {"rd-h0": 1, "rd-h1": 1}, "re": {"re-h0": 1, "re-h1": 1},
           "rg": {"rg-h0": 1, "rg-h1": 1}}
    started = pd.Timestamp.now(tz="UTC")
    runs = {
        "rb": launch(out, qualify + ["rb"], {"rb-h0": 2}),
        "rc": launch(out, qualify + ["rc", "--fault", "gemm:1:wrong"], two["rc"]),
        "rd-1": launch(out, qualify + ["rd", "--fault", "gemm:0:wrong"], two["rd"]),
        "rd-2": launch(out, qualify + ["rd", "--fault", "gemm:1:wrong"], two["rd"]),
        "rd-repaired": launch(out, qualify + ["rd"], two["rd"]),
        "re": launch(out, qualify + ["re"], two["re"]),
        "rg": launch(out, qualify + ["rg", "--fault", "gemm:1:error"], two["rg"]),
        # The nightly suite over re and rf at once, as `rackqual run` with the inventory; re-h1 computes wrong.
        "nightly": launch(out, ["run", str(tmp / "nightly.yaml"), "--inventory", str(inventory),
                                "--fault", "gemm:1:wrong"], {"re-h0": 1, "re-h1": 1, "rf-h0": 1, "rf-h1": 1}),
    }
    ended = pd.Timestamp.now(tz="UTC")
    proc = python_m("ingest", str(out), "--into", str(tmp / "history"))   # what `rackqual ingest` runs
    assert proc.returncode == 0 and f"{len(runs)} run(s) added" in proc.stdout, proc.stdout + proc.stderr
    listed = _core.load_inventory(str(inventory))
    gpus = {r["name"]: sum(h["gpus"] for h in r["hosts"]) for r in listed["racks"]}
    return Cluster(inventory, tmp / "history", runs, gpus, started, ended)


@pytest.fixture(scope="module")
def frame(cluster) -> pd.DataFrame:
    return rackqual.board(cluster.inventory, cluster.history).set_index("rack")


@pytest.fixture(scope="module")
def written(cluster, tmp_path_factory) -> tuple[pathlib.Path, pathlib.Path, str]:
    """`python -m rackqual board` on the history: the page, the textfile, what it printed."""
    tmp = tmp_path_factory.mktemp("written")
    page, prom = tmp / "board.html", tmp / "board.prom"
    proc = python_m("board", "--inventory", str(cluster.inventory), "--history", str(cluster.history),
                    "-o", str(page), "--prom", str(prom))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return page, prom, proc.stdout


def test_each_rack_is_in_the_state_its_records_say(frame, cluster):
    assert {rack: frame.loc[rack, "state"] for rack in EXPECTED} == EXPECTED
    assert list(frame.index) == list(EXPECTED), "the inventory's order"
    assert isinstance(frame.loc["rb", "state"], State) and frame.loc["rb", "state"] == "qualified"
    # Qualified on the day by the run that qualified it, and the run that decided every other state.
    assert frame.loc["rb", "qualified_by"] == frame.loc["rb", "decided_by"] == cluster.runs["rb"]
    assert frame.loc["rb", "detail"] == f"qualified on {cluster.ended:%Y-%m-%d} by run {cluster.runs['rb']}" or \
        frame.loc["rb", "detail"] == f"qualified on {cluster.started:%Y-%m-%d} by run {cluster.runs['rb']}"
    for rack, run in (("rc", "rc"), ("rd", "rd-repaired"), ("re", "nightly"), ("rg", "rg")):
        assert frame.loc[rack, "decided_by"] == cluster.runs[run], rack
    assert frame.loc["re", "qualified_by"] == cluster.runs["re"]
    # Never tested and qualifying: nothing decided, nothing qualified.
    # (missing text is None under pandas 2 and NaN under pandas 3's string columns)
    assert pd.isna(frame.loc["ra", "since"]) and pd.isna(frame.loc["ra", "decided_by"])
    assert pd.isna(frame.loc["rf", "decided_by"]) and pd.isna(frame.loc["rf", "qualified_by"])
    # A qualified rack's GPUs each by its own verdict, slot by slot.
    assert frame.loc["rb", "gpus_qualified"] == cluster.gpus["rb"] == 2 and frame.loc["rb", "hosts_qualified"] == 1
    for rack in EXPECTED:
        assert frame.loc[rack, "gpus"] == cluster.gpus[rack]
        assert sum(frame.loc[rack, f"gpus_{s.value}"] for s in State) == cluster.gpus[rack]


def test_a_failed_rack_names_its_culprit_host_and_its_evidence(frame):
    rc = frame.loc["rc"]
    assert rc["parts_to_pull"] == ["host rc-h1"]
    assert "culprits named: host rc-h1" in rc["detail"] and "incorrect result" in rc["detail"], rc["detail"]
    assert "rc-h0" not in rc["detail"]
    assert (rc["hosts_failed"], rc["hosts_qualified"], rc["gpus_failed"], rc["gpus_qualified"]) == (1, 1, 1, 1)
    assert rc["failures"] == 1


def test_a_rack_repaired_and_qualified_again_has_nothing_to_pull(frame):
    rd = frame.loc["rd"]
    assert rd["state"] is State.REQUALIFIED and rd["failures"] == 2
    assert rd["parts_to_pull"] == [], "both hosts named before passed the later qualification"
    assert (rd["hosts_requalified"], rd["gpus_requalified"]) == (2, 2)
    assert frame.attrs["failed_more_than_once"] == ["rd"]


def test_a_rack_failed_by_a_later_nightly_run_regressed(frame, cluster):
    re_ = frame.loc["re"]
    assert re_["parts_to_pull"] == ["host re-h1"]
    assert f"regressed on {cluster.ended:%Y-%m-%d} in run {cluster.runs['nightly']}" in re_["detail"]
    assert "since qualified on" in re_["detail"] and cluster.runs["re"] in re_["detail"]
    assert (re_["hosts_regressed"], re_["hosts_qualified"]) == (1, 1)
    assert (re_["gpus_regressed"], re_["gpus_qualified"]) == (1, 1)
    # The same nightly run touched rf, which no qualification decided: qualifying, not qualified.
    rf = frame.loc["rf"]
    assert (rf["hosts_qualifying"], rf["gpus_qualifying"], rf["parts_to_pull"]) == (2, 2, [])


def test_a_qualification_that_could_not_decide_is_never_a_pass(frame):
    rg = frame.loc["rg"]
    assert rg["state"] is State.UNDECIDED and "neither a pass nor a fail" in rg["detail"]
    assert rg["gpus_undecided"] == 1 and rg["gpus_qualified"] == 1   # rg-h1's GPU errored, rg-h0's passed
    assert pd.isna(rg["qualified_on"])
    assert frame.attrs["gpus_qualified"] == sum(frame.loc[r, "gpus"] for r in frame.index if frame.loc[r, "state"] in
                                                (State.QUALIFIED, State.REQUALIFIED))


def test_the_clusters_progress(cluster):
    b = assess(cluster.inventory, cluster.history)
    qualified_ever = ["rb", "rd", "re"]
    days = b.per_day()
    assert days["gpus"].sum() == sum(cluster.gpus[r] for r in qualified_ever)
    assert sorted(r for racks in days["racks"] for r in racks) == qualified_ever
    assert set(days["date"].dt.strftime("%Y-%m-%d")) <= {f"{cluster.started:%Y-%m-%d}", f"{cluster.ended:%Y-%m-%d}"}
    curve = b.progress()
    assert curve["gpus"].iloc[-1] == b.gpus_qualified() == cluster.gpus["rb"] + cluster.gpus["rd"]
    assert curve["gpus"].max() == cluster.gpus["rb"] + cluster.gpus["rd"] + cluster.gpus["re"]   # before re regressed
    assert b.inventory.gpus == sum(cluster.gpus.values())
    median, n = b.median_days_to_qualified()
    assert n == 3 and 0 <= median <= (cluster.ended - cluster.started).total_seconds() / 86400
    later = rackqual.board(cluster.inventory, cluster.history, as_of=cluster.ended + pd.Timedelta(days=3))
    later = later.set_index("rack")
    assert 3 <= later.loc["rb", "days_in_state"] <= 3 + (cluster.ended - cluster.started).total_seconds() / 86400


def test_the_command_prints_the_board(written, frame):
    out = written[2]
    for rack, state in EXPECTED.items():
        assert re.search(rf"^  {rack} +{re.escape(state.label)} ", out, re.M), out
    assert "parts to pull: 3" in out and "failed more than once: rd (2)" in out


def test_the_prometheus_textfile_passes_promtool(written, frame):
    text = written[1].read_text()
    samples = dict(re.findall(r"^(\S+\{[^}]*\}) (\S+)$", text, re.M))
    for rack, state in EXPECTED.items():
        assert samples[f'rackqual_board_rack_state{{cluster="lab-east",rack="{rack}",state="{state.value}"}}'] == "1"
    assert samples['rackqual_board_qualified_gpus{cluster="lab-east"}'] == str(frame.attrs["gpus_qualified"])
    assert samples['rackqual_board_inventory_gpus{cluster="lab-east"}'] == str(frame["gpus"].sum())
    assert samples['rackqual_board_part_to_pull{cluster="lab-east",rack="rc",kind="host",part="rc-h1"}'] == "1"
    assert samples['rackqual_board_racks_failed_more_than_once{cluster="lab-east"}'] == "1"
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed (scripts/setup.sh installs it): the textfile's format is not checked")
    check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    assert (check.returncode, check.stdout + check.stderr) == (0, ""), text


def _render(path: pathlib.Path, screenshot: pathlib.Path) -> dict:
    """Opens the page in headless Chromium with every request but the file refused; returns its errors,
    the requests it tried, every plot's traces (points and drawn marks) and the racks table's states."""
    seen: dict = {"errors": [], "requests": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_offline(page, path, seen)
            seen["graphs"] = page.evaluate("""() => [...document.querySelectorAll('.plotly-graph-div')].map(d => ({
                id: d.id,
                points: (d._fullData || []).map(t => Array.from(t.x || t.y || []).length),
                drawn: [...d.querySelectorAll('.cartesianlayer g.trace')].map(g =>
                    [...g.querySelectorAll('path')].filter(e => (e.getAttribute('d') || '').length > 4).length)}))""")
            seen["states"] = page.evaluate(
                "() => Object.fromEntries([...document.querySelectorAll('#racks-table tbody tr')]"
                ".map(r => [r.dataset.rack, r.dataset.state]))")
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return seen


def test_the_page_renders_offline_without_errors_or_empty_plots(written):
    page = written[0].read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", page) and not re.search(r"<link[^>]*\bhref=", page)
    seen = _render(written[0], ARTIFACTS / "board.png")
    assert seen["errors"] == [] and seen["requests"] == []
    assert {g["id"] for g in seen["graphs"]} == {"rack-gpus", "progress", "per-day"}
    for g in seen["graphs"]:
        assert g["points"] and all(n > 0 for n in g["points"]), f"a trace without points: {g}"
        assert len(g["drawn"]) == len(g["points"]) and all(n > 0 for n in g["drawn"]), f"a trace not drawn: {g}"
    assert seen["states"] == {rack: state.value for rack, state in EXPECTED.items()}
    assert (ARTIFACTS / "board.png").stat().st_size > 20_000


def test_an_empty_history_shows_every_rack_never_tested(cluster, tmp_path):
    (tmp_path / "history" / "runs").mkdir(parents=True)
    page = tmp_path / "board.html"
    with contextlib.redirect_stdout(io.StringIO()):
        assert entry.main(["board", "--inventory", str(cluster.inventory), "--history", str(tmp_path / "history"),
                           "-o", str(page)]) == 0
    df = rackqual.board(cluster.inventory, tmp_path / "history")
    assert set(df["state"]) == {State.NEVER_TESTED} and df.attrs["gpus_qualified"] == 0
    body = page.read_text(encoding="utf-8")
    assert "No rack has been tested yet." in body and 'id="progress"' not in body


def test_a_wrong_option_exits_2_with_one_line(cluster, tmp_path, capsys):
    args = ["board", "--inventory", str(cluster.inventory), "--history", str(cluster.history), "-o",
            str(tmp_path / "board.html")]
    assert entry.main(args + ["--as-of", "last tuesday"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("rackqual board: --as-of: not a time: last tuesday"), err
    assert not (tmp_path / "board.html").exists()


@pytest.mark.parametrize("case", ["no-inventory", "bad-inventory", "no-history", "not-a-history", "bad-history",
                                  "no-folder"])
def test_bad_input_exits_2_with_one_line(case, cluster, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cluster: x\nracks:\n  - name: r1\n    hosts: []\n")
    (tmp_path / "plain").mkdir()
    (tmp_path / "damaged" / "runs").mkdir(parents=True)
    (tmp_path / "damaged" / "runs" / "ingest-1.parquet").write_bytes(b"not parquet at all\n")
    paths = {"inventory": cluster.inventory, "history": cluster.history, "output": tmp_path / "board.html"}
    culprit = {"no-inventory": ("inventory", tmp_path / "missing.yaml"), "bad-inventory": ("inventory", bad),
               "no-history": ("history", tmp_path / "nowhere"), "not-a-history": ("history", tmp_path / "plain"),
               "bad-history": ("history", tmp_path / "damaged"),
               "no-folder": ("output", tmp_path / "no" / "board.html")}[case]
    paths[culprit[0]] = culprit[1]
    args = ["board", "--inventory", str(paths["inventory"]), "--history", str(paths["history"]),
            "-o", str(paths["output"])]
    assert entry.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{culprit[1]}:"), err
    assert not (tmp_path / "board.html").exists()
    if case == "bad-inventory":
        assert "lists no hosts" in err
        proc = python_m(*args)   # the same from the command line
        assert (proc.returncode, proc.stderr) == (2, err), proc.stderr


# ---------------------------------------------------------------------------------------------
# The state machine and a slow link, on findings and records written out here: isolation over
# three or more hosts takes tens of seconds on two loaded cores, so its culprit records are
# built as harness/run/culprits.cpp writes them (isolation: culprit, member, peer).


def _at(minute: int) -> pd.Timestamp:
    return pd.Timestamp("2026-03-02 08:00", tz="UTC") + pd.Timedelta(minutes=minute)


def _finding(minute: int, source: Source, outcome: Outcome) -> Finding:
    return Finding(_at(minute), f"run-{minute}", source, outcome)


def test_the_state_machine():
    Q, R = Source.QUALIFY, Source.RUN
    P, F, U = Outcome.PASS, Outcome.FAIL, Outcome.UNDECIDED
    cases = [
        ([], None, State.NEVER_TESTED, 0),
        ([(1, R, F)], None, State.QUALIFYING, 0),                      # bring-up runs before qualify decide nothing
        ([(1, Q, P), (2, R, U)], None, State.UNDECIDED, 0),            # a nightly run that errored or died
        ([(1, Q, P), (2, R, U), (3, R, P)], None, State.QUALIFIED, 0),  # ... and the next night passed
        ([(1, Q, P), (2, R, F), (3, R, P)], None, State.REGRESSED, 1),  # a regression stays until qualified again
        ([(1, Q, P), (2, R, F), (3, Q, P)], None, State.REQUALIFIED, 1),
        ([(1, Q, F), (2, R, F), (3, Q, F)], None, State.FAILED, 2),     # a failed rack's nightly runs count nothing
        ([(1, Q, U)], None, State.UNDECIDED, 0),
        ([(1, Q, F), (2, Q, U), (3, Q, P)], None, State.REQUALIFIED, 1),
    ]
    for findings, first, state, failures in cases:
        line = timeline([_finding(m, s, o) for m, s, o in findings], first)
        assert (line.state, len(line.failures)) == (state, failures), findings
    line = timeline([_finding(5, Q, P), _finding(9, R, F)], _at(0))
    assert [(s.time, s.state) for s in line.steps] == [(_at(0), State.QUALIFYING), (_at(5), State.QUALIFIED),
                                                       (_at(9), State.REGRESSED)]
    assert (line.qualified_by.run_id, line.decided_by.run_id, line.first_qualified().time) == ("run-5", "run-9", _at(5))


def _evidence(runs: list[tuple[int, str, list[dict]]]) -> Evidence:
    """Evidence of qualify runs of rack rx (hosts x0, x1, x2): each (minute, rack verdict, culprit records)."""
    touches, verdicts, problems = [], [], []
    for minute, verdict, culprits in runs:
        run, time = f"run-{minute}", _at(minute)
        touches += [dict(run_id=run, rack="rx", host=h, first=time, last=time) for h in ("x0", "x1", "x2")]
        verdicts.append(dict(run_id=run, time=time, scope="rack", group="rx", host="x0", rack="rx", rank=0,
                             verdict=verdict, reason="", gpu=None, serial=None))
        for rank, h in enumerate(("x0", "x1", "x2")):
            mine = [c for c in culprits if c["host"] == h]
            verdicts.append(dict(run_id=run, time=time, scope="node", group=h, host=h, rack="rx", rank=rank,
                                 verdict="fail" if mine else "pass", reason="", gpu=None, serial=None))
        problems += [dict(run_id=run, time=time, check="rack-reduce", scope="rack", group="rx", rack="rx", gpu=None,
                          serial=None, metric=None, value=None, unit=None, verdict="fail", **c) for c in culprits]
    return Evidence(pd.DataFrame(touches), pd.DataFrame(verdicts), pd.DataFrame(problems), {})


def test_a_slow_link_is_the_part_to_pull_until_both_ends_qualify_again():
    rack = Rack("rx", tuple(Host(h, "rx", 1) for h in ("x0", "x1", "x2")))
    inventory = Inventory("cluster.yaml", "lab", (rack,))
    link = dict(host="x0", culprit="slow_link", member="x0", peer="x2",
                reason="culprit: slow link between x0 and x2 (each fine with others; confirmed by probe 5)")
    failed = _evidence([(1, "fail", [link])])
    (part,) = failed.parts(inventory)
    assert (part.kind, part.name, part.hosts, part.runs) == (PartKind.LINK, "x0 <-> x2", ("x0", "x2"), ["run-1"])
    assert "confirmed by probe 5" in part.evidence[0]
    assert timeline(*failed.rack_findings(rack)).state is State.FAILED
    # The host at the link's end is not a part of its own; a slow host is.
    slow = dict(host="x1", culprit="slow_member", member="x1", peer=None,
                reason="culprit: slow host x1 (confirmed by probe 3)")
    both = _evidence([(1, "fail", [link]), (2, "fail", [slow])])
    assert [p.label for p in both.parts(inventory)] == ["host x1", "link x0 <-> x2"]
    repaired = _evidence([(1, "fail", [link]), (2, "fail", [slow]), (3, "pass", [])])
    assert repaired.parts(inventory) == []
    assert timeline(*repaired.rack_findings(rack)).state is State.REQUALIFIED
