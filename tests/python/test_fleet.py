"""rackqual.fleet: statistics, z-scores and rack roll-ups; each GPU against its own history across
re-slots; regressions between runs, dates and a history; suspects; `rackqual compare`.

The fleet here is made of real records of the `results` fixture (a gemm, hbm and training-step
record of a real host run) copied onto 32 GPUs with serial numbers, 4 racks x 2 hosts x 4, over
four nights of one run per rack, with known faults planted on the last night."""
from __future__ import annotations

import copy
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pandas as pd
import pytest

import rackqual
from rackqual import fleet, history

from conftest import PACKAGE

NIGHTS = ["2025-03-01", "2025-03-02", "2025-03-03", "2025-03-04"]
RACKS = ["r0", "r1", "r2", "r3"]


def real_records(results: pathlib.Path) -> list[dict]:
    return [json.loads(line) for f in sorted(results.rglob("records.jsonl")) for line in f.read_text().splitlines()]


def template(results: pathlib.Path, check: str, metric: str) -> dict:
    return next(r for r in real_records(results) if r["check"] == check and r["metric"] == metric)


def write_run(out: pathlib.Path, run_id: str, records: list[dict]) -> pathlib.Path:
    run = out / run_id
    run.mkdir(parents=True)
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (run / "manifest.json").write_text(json.dumps({"run_id": run_id, "status": "finished", "schema": 1}))
    return run


def record(tpl: dict, run_id: str, night: str, host: str, value: float, serial: str | None = None,
           index: int | None = None, **fields) -> dict:
    r = copy.deepcopy(tpl)
    r.update({"run_id": run_id, "time": f"{night}T02:00:00.000Z", "host": host, "rack": host.split("-")[0],
              "group": host, "value": value, "verdict": "pass", "suite": "nightly", **fields})
    r["stats"] = dict(r["stats"], median=value)
    if serial is not None:
        r["device"] = {"index": index, "name": "NVIDIA H100 80GB HBM3", "serial": serial, "uuid": None}
    return r


def slots(night: str) -> dict[tuple[str, int], str]:
    """(host, index) -> serial on `night`: SN0005 and SN0023 swap slots from the third night on."""
    out = {}
    for k in range(32):
        rack, host, index = k // 8, k // 4 % 2, k % 4
        out[(f"r{rack}-h{host}", index)] = f"SN{k:04d}"
    if night >= NIGHTS[2]:
        out[("r0-h1", 1)], out[("r2-h1", 3)] = out[("r2-h1", 3)], out[("r0-h1", 1)]
    return out


def night_runs(results: pathlib.Path, out: pathlib.Path, n: int) -> list[pathlib.Path]:
    """One run per rack of night n. Healthy: tflops 700, gbps 3000, step 0.030 s, each GPU or node
    a fixed fraction of a percent off, and a night-to-night wobble under 0.5%. Planted on the last
    night: SN0005 (re-slotted the night before) 10% slower; r3-h1's step 20% slower (better:
    lower); rack r0's HBM 4% slower (under the 5% criterion); SN0030 fails a verdict. SN0017 is
    always 8% slow: weak, but not worse than itself."""
    gemm, hbm, step = (template(results, c, m) for c, m in [("gemm", "tflops"), ("hbm-triad", "gbps"), ("step", "step_time_s")])
    night, last = NIGHTS[n], n == len(NIGHTS) - 1
    wobble = 1 + 0.004 * ((n * 7) % 3 - 1)
    runs = []
    for rack in RACKS:
        run_id = f"{night.replace('-', '')}T020000Z-{rack}"
        records = []
        for (host, index), serial in sorted(slots(night).items()):
            if not host.startswith(rack + "-"):
                continue
            k = int(serial[2:])
            spread = 1 + 0.003 * (k % 5 - 2)
            tflops = 700 * spread * wobble * (0.92 if serial == "SN0017" else 1) * (0.90 if last and serial == "SN0005" else 1)
            gbps = 3000 * spread * wobble * (0.96 if last and rack == "r0" else 1)
            fields = {"verdict": "fail", "reason": "tflops 640 < min 650"} if last and serial == "SN0030" else {}
            records.append(record(gemm, run_id, night, host, tflops, serial, index, rank=k, **fields))
            records.append(record(hbm, run_id, night, host, gbps, serial, index, rank=k))
        for host in (f"{rack}-h0", f"{rack}-h1"):
            seconds = 0.030 * wobble * (1 + 0.002 * int(host[-1])) * (1.2 if last and host == "r3-h1" else 1)
            records.append(record(step, run_id, night, host, seconds, rank=0))
        runs.append(write_run(out / night, run_id, records))
    return runs


@pytest.fixture(scope="module")
def fleet_tree(results, tmp_path_factory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("fleet")
    for n in range(len(NIGHTS)):
        night_runs(results, out / "results", n)
    summary = history.ingest(out / "results", out / "history")
    assert len(summary.runs_added) == len(NIGHTS) * len(RACKS)
    return out


def keys(found: pd.DataFrame) -> set[tuple[str, str, str]]:
    return set(zip(found["check"], found["metric"], found["subject"]))


PLANTED = {("gemm", "tflops", "SN0005"), ("step", "step_time_s", "node:r3-h1")}


def test_fleet_stats_are_the_medians_of_real_runs(results):
    frame = rackqual.load(results)
    stats = fleet.fleet_stats(results)
    for (check, metric), group in frame[frame["value"].notna()].groupby(["check", "metric"], observed=True):
        rows = stats[(stats["check"] == check) & (stats["metric"] == metric)]
        assert rows["n"].sum() == len(group)
        if rows.shape[0] == 1:
            assert rows["median"].iloc[0] == pytest.approx(group["value"].median())
            assert rows["mad"].iloc[0] == pytest.approx((group["value"] - group["value"].median()).abs().median())


def test_zscores_and_rack_rollup_name_the_weak_gpu_and_the_slow_rack(fleet_tree):
    z = fleet.zscores(fleet_tree / "history", dates=NIGHTS[-1])
    gemm = z[(z["check"] == "gemm") & (z["metric"] == "tflops")].set_index("subject")
    assert len(gemm) == 32 and gemm.loc["SN0017", "z"] < fleet.Z_DRAIN and gemm.loc["SN0005", "z"] < fleet.Z_DRAIN
    assert (gemm.drop(["SN0017", "SN0005"])["z"] > fleet.Z_INVESTIGATE).all()
    step = z[z["metric"] == "step_time_s"].set_index("subject")
    assert step["z"].idxmin() == "node:r3-h1" and step.loc["node:r3-h1", "value"] > step["median"].iloc[0]

    racks = fleet.rack_rollup(fleet_tree / "history", dates=NIGHTS[-1])
    hbm = racks[racks["metric"] == "gbps"].set_index("rack")
    assert hbm.loc["r0", "ratio"] == pytest.approx(0.96, abs=0.005) and hbm.loc["r0", "z"] < fleet.Z_DRAIN
    assert (hbm.drop("r0")["z"] > fleet.Z_DRAIN).all()
    stats = fleet.fleet_stats(fleet_tree / "history", dates=[NIGHTS[0]])
    assert set(stats["n"]) == {32, 8} and set(stats["model"]) == {"NVIDIA H100 80GB HBM3", ""}


def test_each_gpu_against_its_own_history_across_reslots(fleet_tree):
    found = fleet.compare(fleet_tree / "history", fleet_tree / "history")
    assert keys(found) == PLANTED
    gpu = found[found["subject"] == "SN0005"].iloc[0]
    # Its baseline is its own three nights, two of them in another slot; it now sits in r2-h1.
    assert gpu["old_runs"] == 3 and gpu["host"] == "r2-h1" and gpu["rack"] == "r2" and gpu["serial"] == "SN0005"
    assert gpu["drop"] == pytest.approx(0.10, abs=0.01) and gpu["criterion"] == "max_drop_from_baseline: 0.05"
    assert json.loads(gpu["params"])["dtype"] and gpu["better"] == "higher" and gpu["new"] < gpu["old"]
    node = found[found["subject"] == "node:r3-h1"].iloc[0]
    assert node["better"] == "lower" and node["new"] > node["old"] and node["drop"] == pytest.approx(0.20, abs=0.01)
    assert node["scope"] == "node" and pd.isna(node["serial"])


def test_night_against_night_and_results_against_the_history(fleet_tree):
    h, tree = fleet_tree / "history", fleet_tree / "results"
    nights = fleet.compare(h, h, old_dates=[NIGHTS[2]], new_dates=[NIGHTS[3]])
    assert keys(nights) == PLANTED and set(nights["old_runs"]) == {1}
    folders = fleet.compare(tree / NIGHTS[2], tree / NIGHTS[3])
    assert keys(folders) == PLANTED
    # The last night is in the history too: as the baseline, the history leaves it out.
    against = fleet.compare(h, tree / NIGHTS[3])
    assert keys(against) == PLANTED and set(against["old_runs"]) == {3}
    # Before the swap, SN0005's slot held it: the night before it moved shows nothing.
    assert fleet.compare(h, h, old_dates=[NIGHTS[0]], new_dates=[NIGHTS[1]]).empty


def test_criteria_per_metric(fleet_tree):
    h = fleet_tree / "history"
    found = fleet.compare(h, h, max_drop_from_baseline={"gemm/tflops": 0.2})
    assert keys(found) == {("step", "step_time_s", "node:r3-h1")}
    assert set(found["criterion"]) == {"max_drop_from_baseline: 0.05"}
    assert fleet.compare(h, h, max_drop_from_baseline={"step_time_s": 0.25, "*": 0.15}).empty
    # r0's 4% HBM drop now counts, for the GPUs in r0 that night (SN0023 moved in, SN0005 out).
    looser = fleet.compare(h, h, max_drop_from_baseline=0.03)
    in_r0 = {serial for (host, _), serial in slots(NIGHTS[-1]).items() if host.startswith("r0-")}
    assert "SN0023" in in_r0 and {s for c, m, s in keys(looser) if m == "gbps"} == in_r0
    with pytest.raises(fleet.BadInput):
        fleet.compare(h, h, max_drop_from_baseline={"*": "lots"})


def test_suspects_ranked_with_their_evidence(fleet_tree):
    h = fleet_tree / "history"
    ranked = fleet.suspects(h, h)
    subjects = list(ranked["subject"])
    for expected in ("SN0005", "SN0017", "SN0030", "node:r3-h1", "rack:r0"):
        assert expected in subjects
    assert "SN0009" not in subjects   # healthy, in a healthy rack
    assert list(ranked["score"]) == sorted(ranked["score"], reverse=True) and list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    by = ranked.set_index("subject")
    evidence = by.loc["SN0005", "evidence"]
    assert any(e.startswith("regressed: gemm tflops") and "then on" not in e for e in evidence)
    assert any(e.startswith("fleet outlier: gemm tflops") for e in evidence)
    # SN0005 has both a regression and an outlier figure: it outranks the GPU that is only weak.
    assert by.loc["SN0005", "rank"] < by.loc["SN0017", "rank"]
    assert any(e.startswith("verdict fail: gemm tflops") and "640 < min 650" in e for e in by.loc["SN0030", "evidence"])
    assert any(e.startswith("rack outlier: hbm-triad gbps") for e in by.loc["rack:r0", "evidence"])
    # Without a baseline: only what the night itself shows.
    alone = fleet.suspects(h).set_index("subject")
    assert "SN0017" in alone.index and not any(e.startswith("regressed") for e in sum(alone["evidence"].map(list), []))


def test_compare_real_runs_with_planted_regressions(results, tmp_path):
    """Real records of a real run against a copy of themselves, two figures worsened: exactly those
    two regress, named by host and device index (the host backend has no serial numbers)."""
    run = sorted(p for p in results.iterdir() if p.is_dir())[0]
    records = real_records(run)
    worse = copy.deepcopy(records)
    gemm = next(r for r in worse if r["check"] == "gemm" and r["rank"] == 3)
    gemm["value"] *= 0.5
    step = next(r for r in worse if r["metric"] == "step_time_s" and r["host"].endswith("h0"))
    step["value"] *= 2
    better = next(r for r in worse if r["metric"] == "step_time_s" and r["host"].endswith("h1"))
    better["value"] *= 0.5   # faster is not a regression
    for r in worse:
        r["run_id"] = "later"
    write_run(tmp_path / "new", "later", worse)
    found = fleet.compare(run, tmp_path / "new")
    host3 = gemm["host"]
    assert keys(found) == {("gemm", "tflops", f"{host3}/gpu{gemm['device']['index']}"),
                           ("step", "step_time_s", f"node:{step['host']}")}
    row = found[found["check"] == "gemm"].iloc[0]
    assert row["old"] == pytest.approx(row["new"] * 2) and row["drop"] == pytest.approx(0.5)
    assert row["host"] == host3 and row["rack"] == gemm["rack"] and row["run_id"] == "later"
    assert fleet.compare(run, run).empty


def python_m(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "rackqual", *args], capture_output=True, text=True, env=env,
                          timeout=300, stdin=subprocess.DEVNULL)


def test_compare_cli(fleet_tree, tmp_path):
    h, tree = str(fleet_tree / "history"), fleet_tree / "results"
    proc = python_m("compare", h, h, "--csv", str(tmp_path / "all.csv"))
    assert proc.returncode == 1, proc.stderr
    assert "SN0005" in proc.stdout and "node:r3-h1" in proc.stdout and "2 regression(s)" in proc.stdout
    assert len(pd.read_csv(tmp_path / "all.csv")) == 2
    proc = python_m("compare", str(tree / NIGHTS[0]), str(tree / NIGHTS[1]))
    assert proc.returncode == 0 and "nothing regressed" in proc.stdout
    proc = python_m("compare", h, h, "--max-drop", "0.5")
    assert proc.returncode == 0
    proc = python_m("compare", h, h, "--max-drop", "gemm/tflops=0.2")
    assert proc.returncode == 1 and "SN0005" not in proc.stdout
    proc = python_m("compare", h, h, "--old-date", NIGHTS[2], "--new-date", NIGHTS[3])
    assert proc.returncode == 1
    for bad in (["compare", h, str(tmp_path / "missing")], ["compare", h, h, "--max-drop", "lots"],
                ["compare", h, h, "--new-date", "yesterday"], ["compare", h]):
        proc = python_m(*bad)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) >= 1, bad
        if bad[1:3] == [h, h] or bad[-1].endswith("missing"):
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = python_m("compare", str(empty), h)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
