"""The history's format as a contract: a reader other than DuckDB (pyarrow's dataset API, as Spark
or Trino would read the folder) gets the same rows as rackqual.history.query, by the rules a
foreign reader follows; and a history written before a change is read after it (the fixture
data/history-0.1.0, which stands for histories already on disk; see data/README.md).

The rules a foreign reader follows, which read_with_pyarrow applies:
- records are the Parquet files under HISTORY/records/, hive-partitioned: date=YYYY-MM-DD is a
  column (a date) taken from the path, in no file;
- only the records of committed runs: those whose run_id is in a file of HISTORY/runs/ (an
  ingest moves its records into place before it commits, and one that died leaves them there
  until the next ingest removes them);
- nothing else in HISTORY is the history: .staging-* folders (an ingest under way, or one that
  died, with Parquet files of the same layout) and .lock;
- runs files are read by column name: those written before a column was added lack it (null).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import rackqual
from rackqual import history

from conftest import PACKAGE

FIXTURE = pathlib.Path(__file__).resolve().parent / "data" / "history-0.1.0"
# Integer columns, and struct fields, that pandas may carry as floats where a value is missing.
INTEGRAL = {"rank", "schema", "index", "records", "racks"}


def read_with_pyarrow(path: pathlib.Path, columns: list[str] | None = None, filter=None) -> pa.Table:
    """The records of the history at `path` by the foreign reader's rules (module docstring),
    with pyarrow alone: no rackqual, no DuckDB."""
    committed = ds.dataset(path / "runs", format="parquet").to_table(columns=["run_id"]).column("run_id")
    records = ds.dataset(path / "records", format="parquet",
                         partitioning=ds.partitioning(pa.schema([("date", pa.date32())]), flavor="hive"))
    only = pc.field("run_id").isin(committed)
    return records.to_table(columns=columns, filter=only if filter is None else only & filter)


def read_runs_with_pyarrow(path: pathlib.Path) -> pa.Table:
    """The runs of the history: every runs file by column name, the columns of the newest."""
    files = sorted((path / "runs").glob("*.parquet"))
    schemas = [pq.read_schema(f) for f in files]
    widest = max(schemas, key=len)
    return ds.dataset(files, format="parquet", schema=widest).to_table()


def canonical(column: str, value):
    """One cell as plain Python, the same from DuckDB's DataFrame, pyarrow and expected.json:
    missing (None, NaN, NA) as None, times as UTC ISO text to the millisecond, the date as
    YYYY-MM-DD, structs as dicts of canonical fields, numpy scalars as Python's."""
    if isinstance(value, dict):
        return {k: canonical(k, v) for k, v in value.items()}
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    if column == "date":
        return pd.Timestamp(value).strftime("%Y-%m-%d")
    if isinstance(value, (_dt.datetime, np.datetime64)):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.isoformat(timespec="milliseconds")
    if column in INTEGRAL and isinstance(value, (int, float, np.integer, np.floating)):
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def canonical_rows(rows: pd.DataFrame | pa.Table) -> list[dict]:
    """Every row as a dict of canonical cells, in one order whatever the reader's."""
    if isinstance(rows, pa.Table):
        names, records = rows.column_names, rows.to_pylist()
    else:
        names, records = list(rows.columns), rows.to_dict("records")
    out = [{name: canonical(name, r[name]) for name in names} for r in records]
    return sorted(out, key=lambda r: json.dumps(r, sort_keys=True))


KILLED_INGEST = """
import os, sys
sys.path.insert(0, {python!r})
import rackqual.history as h
real = os.replace
def replace(src, dst):
    if "runs" in str(dst).split(os.sep):
        os._exit(9)   # killed after its records moved into their partitions, before the commit
    real(src, dst)
h.os.replace = replace
h.ingest({results!r}, {into!r})
"""


@pytest.fixture(scope="module")
def with_a_dead_ingest(results, tmp_path_factory) -> pathlib.Path:
    """A history of real runs on two dates (one run as its records file gave it, one as a
    DataFrame a year earlier), then an ingest of a third run killed between moving its records
    into their partitions and committing: its files are in records/ and its staging folder left."""
    tmp = tmp_path_factory.mktemp("format")
    runs = sorted(p for p in results.iterdir() if p.is_dir())
    into = tmp / "history"
    history.ingest(runs[0], into)
    older = rackqual.load(runs[0])
    older["run_id"] = older["run_id"].astype(str) + "-older"
    older["time"] = older["time"] - pd.Timedelta(days=365)
    history.ingest(older, into)
    script = KILLED_INGEST.format(python=str(PACKAGE), results=str(runs[1]), into=str(into))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr
    assert len(list(into.glob(".staging-*"))) == 1
    return into


def test_pyarrow_reads_the_rows_duckdb_does(with_a_dead_ingest):
    into = with_a_dead_ingest
    everything = ds.dataset(into / "records", format="parquet", partitioning="hive")
    foreign = read_with_pyarrow(into)
    duck = history.query(into, "SELECT * FROM records")
    # The killed ingest's records are in the partitions: a reader that does not join on runs counts them.
    assert everything.count_rows() > foreign.num_rows == len(duck)
    assert set(foreign.column("run_id").to_pylist()) == set(duck["run_id"]) and duck["run_id"].nunique() == 2
    assert foreign.schema.names == list(duck.columns)
    assert canonical_rows(foreign) == canonical_rows(duck)
    # The date from the path: the same two partitions, as dates.
    assert foreign.schema.field("date").type == pa.date32()
    dates = sorted(p.name.removeprefix("date=") for p in (into / "records").iterdir())
    assert sorted({d.isoformat() for d in foreign.column("date").to_pylist()}) == dates and len(dates) >= 2
    runs = read_runs_with_pyarrow(into)
    assert canonical_rows(runs) == canonical_rows(history.query(into, "SELECT * FROM runs"))


def test_the_structs_read_as_nested_fields(with_a_dead_ingest):
    into = with_a_dead_ingest
    for sql, where in [("device.index = 1", pc.field("device", "index") == 1),
                       ("device.serial IS NULL AND device.name IS NOT NULL",
                        pc.field("device", "serial").is_null() & pc.field("device", "name").is_valid()),
                       ("stats.min <= stats.median AND stats.n = 5",
                        (pc.field("stats", "min") <= pc.field("stats", "median")) & (pc.field("stats", "n") == 5)),
                       ("NOT correct.ok", ~pc.field("correct", "ok")),
                       ("correct.detail LIKE 'all %'", pc.starts_with(pc.field("correct", "detail"), "all "))]:
        n = history.query(into, f"SELECT count(*) AS n FROM records WHERE {sql}")["n"][0]
        assert read_with_pyarrow(into, columns=["run_id"], filter=where).num_rows == n, sql
    # A struct field as a column of its own, and one field against another column.
    serials = read_with_pyarrow(into, columns={"run_id": pc.field("run_id"), "serial": pc.field("device", "serial"),
                                               "index": pc.field("device", "index")})
    duck = history.query(into, "SELECT run_id, device.serial AS serial, device.index AS index FROM records")
    assert canonical_rows(serials) == canonical_rows(duck)
    same = read_with_pyarrow(into, columns=["run_id"], filter=pc.field("stats", "median") == pc.field("value"))
    n = history.query(into, "SELECT count(*) AS n FROM records WHERE stats.median = value")["n"][0]
    assert same.num_rows == n > 0


def fixture_copy(tmp_path: pathlib.Path) -> pathlib.Path:
    """A copy of the fixture's history to write into; the fixture itself is only read."""
    return pathlib.Path(shutil.copytree(FIXTURE / "history", tmp_path / "history"))


def files_of(path: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_a_history_written_before_reads_as_it_did():
    expected = json.loads((FIXTURE / "expected.json").read_text())
    before = files_of(FIXTURE)
    into = FIXTURE / "history"
    assert canonical_rows(history.query(into, "SELECT * FROM records")) == expected["records"]
    assert canonical_rows(history.query(into, "SELECT * FROM runs")) == expected["runs"]
    assert canonical_rows(read_with_pyarrow(into)) == expected["records"]
    statuses = sorted(str(r["status"]) for r in expected["runs"])
    assert statuses == ["None", "finished", "finished", "incomplete"], statuses
    # What the package reads from it: the dates, a run's figures, the comparison of its runs.
    dates = history.query(into, "SELECT DISTINCT CAST(date AS VARCHAR) AS d FROM records ORDER BY d")["d"].tolist()
    assert dates == sorted({r["date"] for r in expected["records"]}) and len(dates) == 2
    assert files_of(FIXTURE) == before


def test_a_new_run_goes_into_a_history_written_before(results, tmp_path):
    expected = json.loads((FIXTURE / "expected.json").read_text())
    into = fixture_copy(tmp_path)
    # The runs it was made from are already there, by run_id (the killed one held back, as it was).
    again = history.ingest(FIXTURE / "source", into)
    assert again.runs_added == [] and again.records == 0
    assert len(again.runs_present) == 2 and len(again.running) == 1
    assert len(history.ingest(FIXTURE / "source", into, running=True).runs_present) == 3

    run = sorted(p for p in results.iterdir() if p.is_dir())[0]
    summary = history.ingest(run, into)
    assert summary.runs_added == [run.name] and summary.records == len(rackqual.load(run))
    records = canonical_rows(history.query(into, "SELECT * FROM records"))
    old = [r for r in records if r["run_id"] != run.name]
    new = [r for r in records if r["run_id"] == run.name]
    assert old == expected["records"] and len(new) == summary.records
    assert canonical_rows(read_with_pyarrow(into)) == records
    runs = history.query(into, "SELECT run_id, status FROM runs")
    assert len(runs) == len(expected["runs"]) + 1
    assert runs.set_index("run_id").loc[run.name, "status"] == "finished"
