"""rackqual.history: real runs ingested into the Parquet history, read back with DuckDB and pyarrow;
re-ingest, damaged records, runs still running, a failed and a killed ingest."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import rackqual
from rackqual import history

from conftest import PACKAGE


def files_of(path: pathlib.Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*") if p.is_file() and p.name != ".lock"}


def copy_run(results: pathlib.Path, to: pathlib.Path, index: int = 0) -> pathlib.Path:
    run = sorted(p for p in results.iterdir() if p.is_dir())[index]
    return pathlib.Path(shutil.copytree(run, to / run.name))


def python_m(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "rackqual", *args], capture_output=True, text=True, env=env,
                          timeout=300, stdin=subprocess.DEVNULL)


def test_ingest_real_runs_then_read_them_back(results, tmp_path):
    frame = rackqual.load(results)
    into = tmp_path / "history"
    summary = history.ingest(results, into)
    assert sorted(summary.runs_added) == sorted(frame["run_id"].astype(str).unique())
    assert summary.records == len(frame) and summary.runs_present == [] and summary.skipped == []
    assert summary.files >= 1 and not list(into.glob(".staging-*"))

    # Hive partitions date=: the date (UTC) of each run's first record.
    parts = {p.parent.relative_to(into / "records").as_posix() for p in (into / "records").rglob("*.parquet")}
    dates = {t.strftime("%Y-%m-%d") for t in frame.groupby("run_id", observed=True)["time"].min()}
    assert parts == {f"date={d}" for d in dates}

    # Every file has the one schema; DuckDB's view and pyarrow's dataset read the same records.
    for f in (into / "records").rglob("*.parquet"):
        assert pq.read_schema(f).remove_metadata().equals(history.RECORDS)
    con = history.connect(into)
    assert con.execute("SELECT count(*) FROM records").fetchone()[0] == len(frame)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == frame["run_id"].nunique()
    back = con.execute('SELECT "check", metric, value, device.index AS idx, device.serial AS serial, params, rack, '
                       'CAST(date AS VARCHAR) AS date FROM records ORDER BY run_id, "check", metric, rank, params').df()
    assert set(back["rack"]) == set(frame["rack"].astype(str)) and set(back["date"]) == dates
    dataset = ds.dataset(into / "records", format="parquet", partitioning="hive")
    assert dataset.count_rows() == len(frame)

    gemm = frame[(frame["check"] == "gemm") & (frame["metric"] == "tflops")]
    gemm_back = back[(back["check"] == "gemm") & (back["metric"] == "tflops")]
    assert sorted(gemm_back["value"]) == sorted(gemm["value"])
    assert set(gemm_back["idx"]) == set(gemm["device.index"].astype(int))
    assert gemm_back["serial"].isna().all()   # the host backend reads no serial numbers
    # params kept as JSON text with sorted keys: the allreduce's one size per point, numbers as integers.
    sizes = con.execute("SELECT DISTINCT params->>'$.sizes' FROM records WHERE kind = 'allreduce'").fetchall()
    assert sorted(s[0] for s in sizes) == ["[1048576]", "[65536]"]
    m = con.execute("SELECT DISTINCT params FROM records WHERE \"check\" = 'gemm'").fetchall()
    assert len(m) == 1 and json.loads(m[0][0])["m"] == 256 and '"dtype":"fp32"' in m[0][0]
    assert history.query(into, "SELECT count(DISTINCT run_id) AS n FROM records")["n"][0] == 2


def test_reingest_adds_nothing_twice(results, tmp_path):
    into = tmp_path / "history"
    history.ingest(results, into)
    before = files_of(into)
    again = history.ingest(results, into)
    assert again.runs_added == [] and again.records == 0 and len(again.runs_present) == 2
    assert files_of(into) == before
    # The same run found twice in one input counts once.
    twice = tmp_path / "twice"
    copy_run(results, twice / "a")
    copy_run(results, twice / "b")
    fresh = history.ingest(twice, tmp_path / "other")
    assert len(fresh.runs_added) == 1 and len(fresh.duplicates) == 1 and "already taken from" in fresh.lines()[-1]
    assert history.query(tmp_path / "other", "SELECT count(*) AS n FROM records")["n"][0] == fresh.records


def test_damaged_records_are_skipped_counted_and_named(results, tmp_path):
    run = copy_run(results, tmp_path / "damaged")
    records = run / "records.jsonl"
    good = records.read_text().splitlines()
    foreign = json.dumps({"name": "not a record", "value": 3})
    truncated = good[0][: len(good[0]) // 2]
    records.write_text("\n".join(good[:3] + ["this is not JSON", foreign] + good[3:] + [truncated]))
    proc = python_m("ingest", str(tmp_path / "damaged"), "--into", str(tmp_path / "history"))
    assert proc.returncode == 0, proc.stderr
    assert "1 run(s) added" in proc.stdout and "3 line(s) skipped" in proc.stdout
    named = [line for line in proc.stderr.splitlines() if "skipped" in line]
    assert [line.split(": skipped")[0] for line in named] == [
        f"{records}:4", f"{records}:5", f"{records}:{len(good) + 3}"]
    summary = history.ingest(tmp_path / "damaged", tmp_path / "history2")
    assert len(summary.skipped) == 3 and summary.records == len(good)
    assert history.query(tmp_path / "history2", "SELECT count(*) AS n FROM records")["n"][0] == len(good)


def test_a_failed_ingest_leaves_the_history_as_it_was(results, tmp_path, monkeypatch):
    into = tmp_path / "history"
    history.ingest(copy_run(results, tmp_path / "first", 0), into)
    before = files_of(into)
    count = history.query(into, "SELECT count(*) AS n FROM records")["n"][0]
    real_replace = os.replace

    def failing_replace(src, dst):
        if "runs" in pathlib.Path(dst).parts:   # the records have moved; the commit fails
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(history.os, "replace", failing_replace)
    with pytest.raises(OSError):
        history.ingest(copy_run(results, tmp_path / "second", 1), into)
    monkeypatch.undo()
    assert files_of(into) == before and not list(into.glob(".staging-*"))
    assert history.query(into, "SELECT count(*) AS n FROM records")["n"][0] == count
    assert len(history.ingest(tmp_path / "second", into).runs_added) == 1


KILLED_INGEST = """
import os, sys
sys.path.insert(0, {python!r})
import rackqual.history as h
real = os.replace
def replace(src, dst):
    if "runs" in str(dst).split(os.sep):
        os._exit(9)   # killed after the records moved into their partitions, before the commit
    real(src, dst)
h.os.replace = replace
h.ingest({results!r}, {into!r})
"""


def test_an_ingest_killed_midway_is_invisible_then_cleaned_up(results, tmp_path):
    into = tmp_path / "history"
    history.ingest(copy_run(results, tmp_path / "first", 0), into)
    before = files_of(into)
    second = copy_run(results, tmp_path / "second", 1)
    script = KILLED_INGEST.format(python=str(PACKAGE), results=str(second), into=str(into))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr
    left = files_of(into) - before
    assert any(f.startswith(".staging-") for f in left) and any(f.startswith("records/") for f in left)
    # Readers see only committed runs: the moved files of the killed ingest are not in runs.
    assert history.query(into, "SELECT count(DISTINCT run_id) AS n FROM records")["n"][0] == 1
    summary = history.ingest(second, into)
    assert len(summary.recovered) == 1 and summary.runs_added == [second.name]   # a run's folder is its run_id
    assert not list(into.glob(".staging-*"))
    assert history.query(into, "SELECT count(DISTINCT run_id) AS n FROM records")["n"][0] == 2
    parquet = [f for f in files_of(into) if f.startswith("records/")]
    assert len(parquet) == len([f for f in before if f.startswith("records/")]) + summary.files


def test_runs_still_running_wait_for_a_later_ingest(results, tmp_path):
    run = copy_run(results, tmp_path / "live")
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps(dict(manifest, status="running")))
    summary = history.ingest(tmp_path / "live", tmp_path / "history")
    assert summary.runs_added == [] and summary.running == [manifest["run_id"]]
    assert any("still running" in line for line in summary.lines())
    taken = history.ingest(tmp_path / "live", tmp_path / "history", running=True)
    assert taken.runs_added == [manifest["run_id"]]


def test_a_killed_run_beside_a_finished_one_is_taken_whole_and_marked_incomplete(results, tmp_path):
    tree = tmp_path / "tree"
    finished = copy_run(results, tree, 0)
    killed = copy_run(results, tree, 1)
    manifest = json.loads((killed / "manifest.json").read_text())
    (killed / "manifest.json").write_text(json.dumps(dict(manifest, status="running", end_time=None)))
    lines = (killed / "records.jsonl").read_text().splitlines(keepends=True)
    whole = len(lines) // 2
    # The kill landed while a record was being appended: half a line, no newline.
    (killed / "records.jsonl").write_text("".join(lines[:whole]) + lines[whole][: len(lines[whole]) // 2])
    into = tmp_path / "history"
    held = history.ingest(tree, into)
    assert held.runs_added == [finished.name] and held.running == [killed.name]
    taken = history.ingest(tree, into, running=True)
    assert taken.runs_added == [killed.name] and taken.incomplete == [killed.name]
    assert taken.runs_present == [finished.name] and taken.records == whole
    assert [s["line"] for s in taken.skipped] == [whole + 1]
    assert any("incomplete" in line and killed.name in line for line in taken.lines())
    runs = history.query(into, "SELECT run_id, status, records FROM runs ORDER BY run_id").set_index("run_id")
    assert runs.loc[killed.name, "status"] == "incomplete" and runs.loc[killed.name, "records"] == whole
    assert runs.loc[finished.name, "status"] == "finished"
    assert runs.loc[finished.name, "records"] == len((finished / "records.jsonl").read_text().splitlines())


def test_runs_files_without_a_status_still_read(results, tmp_path):
    into = tmp_path / "history"
    history.ingest(copy_run(results, tmp_path / "a", 0), into)
    (old,) = (into / "runs").glob("*.parquet")
    pq.write_table(pq.read_table(old).drop_columns(["status"]), old)   # as written before runs had one
    history.ingest(copy_run(results, tmp_path / "b", 1), into)
    runs = history.query(into, "SELECT status FROM runs ORDER BY first")
    assert runs["status"].isna().tolist() == [True, False]


def test_ingest_from_a_dataframe_and_other_params_keep_one_schema(results, tmp_path):
    frame = rackqual.load(results)
    other = frame[frame["kind"] == "gemm"].copy()
    other["run_id"] = "20250101T000000Z-beef"
    other["time"] = other["time"] - __import__("pandas").Timedelta(days=400)
    other["params.m"] = 512.0
    other["params.extra_knob"] = "x"   # a parameter no other run has
    into = tmp_path / "history"
    history.ingest(results, into)
    summary = history.ingest(other, into)
    assert summary.runs_added == ["20250101T000000Z-beef"]
    schemas = {pq.read_schema(f).remove_metadata() for f in (into / "records").rglob("*.parquet")}
    assert len({s.to_string() for s in schemas}) == 1
    points = history.query(into, "SELECT DISTINCT params FROM records WHERE \"check\" = 'gemm' ORDER BY params")
    assert any('"extra_knob":"x"' in p and '"m":512' in p for p in points["params"])
    dates = history.query(into, "SELECT DISTINCT CAST(date AS VARCHAR) AS d FROM records WHERE run_id = '20250101T000000Z-beef'")
    assert list(dates["d"]) == [other["time"].min().strftime("%Y-%m-%d")]


def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    proc = python_m("ingest", str(tmp_path / "missing"), "--into", str(tmp_path / "history"))
    assert proc.returncode == 2 and proc.stderr.strip() == f"{tmp_path / 'missing'}: no such file or folder"
    (tmp_path / "empty").mkdir()
    proc = python_m("ingest", str(tmp_path / "empty"), "--into", str(tmp_path / "history"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert python_m("ingest", str(tmp_path)).returncode == 2   # no --into
    with pytest.raises(FileNotFoundError):
        history.connect(tmp_path / "empty")


def test_an_empty_history_reads_as_empty(tmp_path):
    (tmp_path / "h" / "runs").mkdir(parents=True)
    assert history.query(tmp_path / "h", "SELECT count(*) AS n FROM records")["n"][0] == 0


def test_a_dates_records_are_sorted_by_rack_for_readers_to_skip_row_groups(results, tmp_path):
    frame = rackqual.load(results)
    racks = []
    for rack in ("r2", "r0", "r1"):
        copy = frame.copy()
        copy["rack"], copy["run_id"] = rack, copy["run_id"].astype(str) + "-" + rack
        racks.append(copy)
    summary = history.ingest(__import__("pandas").concat(racks, ignore_index=True), tmp_path / "history")
    assert len(summary.runs_added) == 3 * frame["run_id"].nunique()
    for f in (tmp_path / "history" / "records").rglob("*.parquet"):
        column = pq.read_table(f, columns=["rack"]).column("rack").to_pylist()
        assert column == sorted(column)
        stats = pq.ParquetFile(f).metadata.row_group(0).column(history.RECORDS.get_field_index("rack")).statistics
        assert stats.has_min_max and stats.min == column[0]
    one = history.query(tmp_path / "history", "SELECT count(*) AS n FROM records WHERE rack = 'r1'")
    assert one["n"][0] == len(frame)
