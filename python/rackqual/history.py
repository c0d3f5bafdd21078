"""The fleet history: runs' records in Parquet, partitioned by date and clustered by rack, queried
with DuckDB.

    HISTORY/records/date=YYYY-MM-DD/part-INGEST-B-I.parquet   the records, one fixed schema
    HISTORY/runs/ingest-INGEST.parquet       the runs one ingest added: written last, its commit
    HISTORY/.staging-INGEST/                 an ingest under way (or one that died: the next removes it)

Within a date, each ingest's records are sorted by rack, host and check into row groups of
ROW_GROUP rows: a query for one rack reads the row groups whose rack range holds it (Parquet's
statistics, which DuckDB, Spark and Trino all use), without a folder per rack. A folder per rack
would mean one small file per rack per night (31,250 racks at 1,000,000 GPUs in racks of 32), and
opening the files would cost more than reading them.

An ingest writes its files under its staging folder, renames them into their partitions, then
renames its runs file into runs/: readers see whole files only, and only the records of committed
runs (the `records` view joins on runs). A run already in the history is skipped by run_id.
A run's records go under the date its first record was taken (UTC), so a run past midnight stays
in one date. Columns: the records' own names; device, stats and correct as structs (so
`device.serial` reads the same in DuckDB, Spark and Trino); params, telemetry, timing, arrival and
isolation as JSON text with sorted keys (params is also the key of a parameter point).

A run's `status` in runs is its manifest's when it was ingested: finished, aborted (ended by its
watchdog, its records whole), or incomplete: the manifest still said running, taken with
running=True once its job had ended (killed, timed out, its node down). An incomplete run holds
every record written whole before it died; a line cut short by the kill is skipped and named.
Null where the run had no readable manifest (a records file alone, a DataFrame).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import fcntl
import json
import os
import pathlib
import shutil
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

import rackqual
from rackqual import _core, history_files
from rackqual.errors import (EXIT_BAD_INPUT, EXIT_ERROR, EXIT_PASS, ArgumentParser, BadInput, describe, first_line,
                             refuse)

DEVICE = pa.struct([("index", pa.int32()), ("name", pa.string()), ("serial", pa.string()), ("uuid", pa.string())])
STATS = pa.struct([(name, pa.float64()) for name in ("n", "median", "min", "max", "cv", "p10", "p90", "p95")])
CORRECT = pa.struct([("ok", pa.bool_()), ("detail", pa.string())])
JSON_OBJECTS = ("params", "telemetry", "timing", "arrival", "isolation")

# Every file of every run has this schema; the partition column date (text) comes from the path.
RECORDS = pa.schema([
    ("run_id", pa.string()), ("time", pa.timestamp("ms", tz="UTC")), ("suite", pa.string()),
    ("check", pa.string()), ("kind", pa.string()), ("backend", pa.string()), ("scope", pa.string()),
    ("group", pa.string()), ("rank", pa.int32()), ("host", pa.string()), ("rack", pa.string()), ("device", DEVICE),
    ("params", pa.string()), ("metric", pa.string()), ("value", pa.float64()), ("unit", pa.string()),
    ("better", pa.string()), ("stats", STATS), ("correct", CORRECT), ("telemetry", pa.string()),
    ("timing", pa.string()), ("arrival", pa.string()), ("isolation", pa.string()), ("digests", pa.string()),
    ("criterion", pa.string()), ("verdict", pa.string()), ("reason", pa.string()), ("schema", pa.int32()),
    ("source", pa.string()), ("extra", pa.string()),
])
ROW_GROUP = 128 * 1024
FILE_ROWS = 8 * 1024 * 1024
RUNS = pa.schema([
    ("run_id", pa.string()), ("suite", pa.string()), ("date", pa.string()), ("first", pa.timestamp("ms", tz="UTC")),
    ("last", pa.timestamp("ms", tz="UTC")), ("records", pa.int64()), ("racks", pa.int64()), ("source", pa.string()),
    ("ingest", pa.string()), ("status", pa.string()),
])

# Records files larger than this together are read and written in several batches of about this size.
BATCH_BYTES = 512 << 20


@dataclasses.dataclass
class IngestSummary:
    """What one ingest did: runs added and already there, records and files written, lines skipped."""
    history: pathlib.Path
    runs_added: list[str] = dataclasses.field(default_factory=list)
    runs_present: list[str] = dataclasses.field(default_factory=list)
    records: int = 0
    files: int = 0
    skipped: list[dict] = dataclasses.field(default_factory=list)
    running: list[str] = dataclasses.field(default_factory=list)
    duplicates: list[str] = dataclasses.field(default_factory=list)
    recovered: list[str] = dataclasses.field(default_factory=list)
    incomplete: list[str] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"{self.history}: {len(self.runs_added)} run(s) added ({self.records} records, {self.files} files), "
               f"{len(self.runs_present)} already there, {len(self.skipped)} line(s) skipped"]
        out += [f"already there: {run}" for run in self.runs_present]
        out += [f"still running, left for a later ingest: {run}" for run in self.running]
        out += [f"incomplete (its manifest says running: it died or runs on), its whole records taken: {run}"
                for run in self.incomplete]
        out += self.duplicates
        out += [f"{s['file']}:{s['line']}: skipped: {s['reason']}" for s in self.skipped]
        out += [f"removed an unfinished ingest: {name}" for name in self.recovered]
        return out


def is_history(path: str | os.PathLike) -> bool:
    return (pathlib.Path(path) / "runs").is_dir()


# ---------------------------------------------------------------------------------------------
# From the loader's DataFrame to the stored table


def _is_text(s: pd.Series) -> bool:
    """Python objects or pandas' string dtype (pandas 3 reads text as `str`, pandas 2 as object)."""
    return s.dtype == object or isinstance(s.dtype, pd.StringDtype)


def _as_strings(s: pd.Series) -> pa.Array:
    """A column of text (Categorical, object or anything else) as an Arrow string array, nulls kept."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        categories = pa.array(s.cat.categories.astype(str), type=pa.string())
        codes = s.cat.codes.to_numpy()
        return categories.take(pa.array(codes, mask=codes < 0))
    try:
        array = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        array = pa.array(s.map(lambda v: None if pd.isna(v) else str(v)), type=pa.string())
    return array if array.type == pa.string() else _json_scalars(array)


def _json_scalars(array: pa.Array) -> pa.Array:
    """Numbers and booleans as their JSON text (integral floats without a fraction); NaN is null."""
    if pa.types.is_boolean(array.type):
        return pc.if_else(array, "true", "false")
    if pa.types.is_floating(array.type):
        finite = pc.is_finite(array)
        array = pc.if_else(finite, array, None)
        integral = pc.and_(finite, pc.and_(pc.equal(pc.floor(array), array), pc.less(pc.abs(array), 2.0 ** 53)))
        as_int = pc.cast(pc.if_else(integral, array, 0.0), pa.int64()).cast(pa.string())
        return pc.if_else(integral, as_int, array.cast(pa.string()))
    if pa.types.is_integer(array.type) or pa.types.is_null(array.type):
        return array.cast(pa.string())
    return array.cast(pa.string())


def _json_text(value: str) -> str:
    """One category as JSON: the loader gives deeper objects and arrays as JSON text, kept as they are."""
    if value[:1] in "[{":
        try:
            json.loads(value)
            return value
        except ValueError:
            pass
    return json.dumps(value)


def _json_cell(v) -> str | None:
    """One Python value as JSON, None where missing (None, NaN or pandas' NA)."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    return _json_text(v) if isinstance(v, str) else json.dumps(v)


def _json_values(s: pd.Series) -> pa.Array:
    """A column as JSON values, null where the record had none."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        categories = pa.array([_json_text(str(c)) for c in s.cat.categories], type=pa.string())
        codes = s.cat.codes.to_numpy()
        return categories.take(pa.array(codes, mask=codes < 0))
    if _is_text(s):
        return pa.array(s.astype(object).map(_json_cell), type=pa.string())
    return _json_scalars(pa.array(s, from_pandas=True))


def _json_object(df: pd.DataFrame, names: list[tuple[str, str]], empty: str | None) -> pa.Array:
    """JSON object text per row from columns (key, column), keys sorted; `empty` where a row has none."""
    if not names:
        return pa.array([empty] * len(df), type=pa.string())
    # Each piece is ',"key":value' or empty; joined without separator, less the first comma.
    pieces = [pc.fill_null(pc.binary_join_element_wise("," + json.dumps(key) + ":", _json_values(df[column]), ""), "")
              for key, column in sorted(names)]
    joined = pc.utf8_slice_codeunits(pc.binary_join_element_wise(*pieces, ""), 1)
    wrapped = pc.binary_join_element_wise("{", joined, "}", "")
    return pc.if_else(pc.equal(joined, ""), pa.scalar(empty, pa.string()), wrapped)


def _numbers(df: pd.DataFrame, column: str, type_: pa.DataType) -> pa.Array:
    if column not in df:
        return pa.nulls(len(df), type_)
    s = df[column]
    if isinstance(s.dtype, pd.CategoricalDtype) or _is_text(s):
        s = pd.to_numeric(s.astype(object), errors="coerce")
    array = pa.array(s, from_pandas=True)
    if pa.types.is_floating(type_):
        return array.cast(type_)
    return pc.if_else(pc.is_finite(array), array, None).cast(type_, safe=False) if pa.types.is_floating(array.type) \
        else array.cast(type_, safe=False)


def _booleans(df: pd.DataFrame, column: str) -> pa.Array:
    if column not in df:
        return pa.nulls(len(df), pa.bool_())
    s = df[column]
    if isinstance(s.dtype, pd.CategoricalDtype) or _is_text(s):
        s = s.astype(object).map({True: True, False: False, "true": True, "false": False}).astype("boolean")
    return pa.array(s.astype("boolean"), from_pandas=True, type=pa.bool_())


def _text(df: pd.DataFrame, column: str) -> pa.Array:
    return _as_strings(df[column]) if column in df else pa.nulls(len(df), pa.string())


def to_table(df: pd.DataFrame) -> pa.Table:
    """The loader's DataFrame (rackqual.load's contract) as the history's table: RECORDS plus the
    partition column date (of each run's first record, UTC). Rows without a run_id or a
    time are dropped (the loader never gives them)."""
    if not len(df) or "run_id" not in df or "time" not in df:
        return RECORDS.empty_table().append_column("date", pa.array([], pa.string()))
    keep = df["run_id"].notna() & df["time"].notna()
    if not keep.all():
        df = df[keep.to_numpy()]
    n = len(df)
    time = pd.to_datetime(df["time"], utc=True)
    first = time.groupby(df["run_id"].astype(str).to_numpy()).transform("min") if n else time
    days = first.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    date = pa.array(np.datetime_as_string(days, unit="D"), type=pa.string()) if n else pa.array([], pa.string())

    used = {"date"}
    columns = {}
    for field in RECORDS:
        name = field.name
        if field.type == pa.string() and name not in JSON_OBJECTS and name not in ("digests", "extra"):
            columns[name] = _text(df, name)
            used.add(name)
    columns["time"] = pa.array(time, from_pandas=True).cast(pa.timestamp("ms", tz="UTC"), safe=False)
    columns["rank"] = _numbers(df, "rank", pa.int32())
    columns["value"] = _numbers(df, "value", pa.float64())
    columns["schema"] = _numbers(df, "schema", pa.int32())
    columns["device"] = history_files.struct_column(DEVICE, [_numbers(df, "device.index", pa.int32()), _text(df, "device.name"),
                                         _text(df, "device.serial"), _text(df, "device.uuid")])
    columns["stats"] = history_files.struct_column(STATS, [_numbers(df, f"stats.{f.name}", pa.float64()) for f in STATS])
    columns["correct"] = history_files.struct_column(CORRECT, [_booleans(df, "correct.ok"), _text(df, "correct.detail")])
    columns["digests"] = _text(df, "digests")
    used |= {"time", "rank", "value", "schema", "digests", "device", "stats", "correct"}
    used |= {f"device.{f.name}" for f in DEVICE} | {f"stats.{f.name}" for f in STATS} | {"correct.ok", "correct.detail"}
    for obj in JSON_OBJECTS:
        names = [(c[len(obj) + 1:], c) for c in df.columns if c.startswith(obj + ".")]
        built = _json_object(df, names, None)
        if obj in df:   # a column of the object's own JSON text, where the loader gives one
            built = pc.coalesce(built, _text(df, obj))
        columns[obj] = pc.fill_null(built, "{}") if obj == "params" else built
        used |= {c for _, c in names} | {obj}
    # Anything else the records carry (fields added later within schema 1) as one JSON object.
    columns["extra"] = _json_object(df, [(c, c) for c in df.columns if c not in used], None)

    table = pa.table([columns[f.name] for f in RECORDS], schema=RECORDS)
    return table.append_column("date", date)


# ---------------------------------------------------------------------------------------------
# Writing: staging, renames, the commit, and the recovery of an ingest that died


def _fsync(path: pathlib.Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _committed(history: pathlib.Path, run_ids: list[str]) -> set[str]:
    """The ones of `run_ids` already committed to the history."""
    files = sorted((history / "runs").glob("*.parquet"))
    if not files or not run_ids:
        return set()
    try:
        table = ds.dataset(files, format="parquet").to_table(columns=["run_id"],
                                                             filter=pc.field("run_id").isin(pa.array(run_ids, pa.string())))
    except (pa.ArrowInvalid, OSError) as e:   # a runs file that is not Parquet: not a history to add to
        raise BadInput(f"{history}: runs: {first_line(e)}") from None
    return set(table.column("run_id").to_pylist())


def _recover(history: pathlib.Path) -> list[str]:
    """Removes what ingests that died left: their staging folders, and the files they had moved into
    the partitions when their runs file was not committed (readers never saw those: not in runs)."""
    removed = []
    for staging in sorted(history.glob(".staging-*")):
        journal = staging / "journal.json"
        if journal.exists():
            try:
                plan = json.loads(journal.read_text())
            except ValueError:
                plan = None   # the journal is written before any file moves: a torn one moved nothing
            if plan and not (history / plan["index"]).exists():
                for relative in plan["files"]:
                    (history / relative).unlink(missing_ok=True)
                    _remove_empty(history / relative, history / "records")
        shutil.rmtree(staging)
        removed.append(staging.name)
    return removed


def _remove_empty(path: pathlib.Path, stop: pathlib.Path) -> None:
    parent = path.parent
    while parent != stop and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _write_batch(table: pa.Table, staging: pathlib.Path, ingest_id: str, batch: int) -> list[pathlib.Path]:
    """Writes one batch's records under the staging folder, a file per date (or per FILE_ROWS rows,
    or per core), sorted by rack; returns the files."""
    return history_files.write(history_files.sorted_table([_coded(table)]), staging / "records",
                               f"part-{ingest_id}-{batch}", ROW_GROUP, FILE_ROWS)


def _coded(table: pa.Table) -> pa.Table:
    """The sort keys as dictionaries (the files' reader gives them so already)."""
    for name in history_files.SORT_KEYS:
        column = table.column(name)
        if not pa.types.is_dictionary(column.type):
            table = table.set_column(table.schema.get_field_index(name), name, column.dictionary_encode())
    return table


def _runs_table(table: pa.Table, ingest_id: str, statuses: dict[str, str]) -> pa.Table:
    """One row per run of a batch: its date, first and last record, counts, where it came from,
    its status (by its records file's manifest)."""
    con = duckdb.connect()
    narrow = pa.table({name: _plain(table.column(name)) for name in ("run_id", "suite", "date", "time", "rack", "source")})
    con.register("batch", narrow)
    # A relation's to_arrow_table: DuckDB 2 dropped .arrow() from connections, 1.1 has no other there.
    runs = con.sql(
        "SELECT run_id, any_value(suite) AS suite, min(date) AS date, min(time) AS first, max(time) AS last, "
        "count(*) AS records, count(DISTINCT rack) AS racks, min(source) AS source, ? AS ingest, "
        "NULL::VARCHAR AS status FROM batch GROUP BY run_id ORDER BY run_id", params=[ingest_id]).to_arrow_table()
    con.close()
    status = pa.array([statuses.get(s) for s in runs.column("source").to_pylist()], pa.string())
    return runs.set_column(runs.schema.get_field_index("status"), "status", status).cast(RUNS)


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A dictionary column as its values' type."""
    return column.cast(column.type.value_type) if pa.types.is_dictionary(column.type) else column


def _still_running(table: pa.Table, statuses: dict[str, str]) -> np.ndarray:
    """Which rows come from a run whose manifest says it is still running (its records are not all
    there yet: ingested now, the rest would be skipped later as a run already in the history).
    Fills `statuses` (source -> status) for every source of `table`."""
    if "source" not in table.column_names or not len(table):
        return np.zeros(len(table), dtype=bool)
    running = []
    sources = pc.unique(_plain(table.column("source"))).drop_null().to_pylist()
    for source, status in zip(sources, _core.manifest_statuses(sources)):
        if status is None:   # no readable manifest
            continue
        statuses[source] = "incomplete" if status == "running" else status
        if status == "running":
            running.append(source)
    if not running:
        return np.zeros(len(table), dtype=bool)
    held = pc.is_in(_plain(table.column("source")), pa.array(running, pa.string()))
    return pc.fill_null(held, False).to_numpy(zero_copy_only=False)


def _groups(files: list[pathlib.Path]) -> list[list[pathlib.Path]]:
    """Records files in groups of about BATCH_BYTES, in order."""
    groups, size = [[]], 0
    for f in files:
        s = f.stat().st_size
        if groups[-1] and size + s > BATCH_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(f)
        size += s
    return groups


def _tables(results: pd.DataFrame | str | os.PathLike, summary: IngestSummary):
    """The input as the history's tables: the frame given (to_table), or the records below a path
    read by the compiled reader, BATCH_BYTES of records files at a time."""
    if isinstance(results, pd.DataFrame):
        summary.skipped += list(results.attrs.get("skipped", []))
        yield to_table(results)
        return
    path = pathlib.Path(results)
    files = rackqual.records.record_files(path)
    if not files:
        raise BadInput(f"{path}: no records.jsonl in it")
    groups = _groups(files)
    # The next group is read while this one is sorted and written: the two overlap on the cores.
    with ThreadPoolExecutor(1) as reader:
        pending = reader.submit(history_files.read, groups[0], RECORDS)
        for i in range(len(groups)):
            tables, skipped = pending.result()
            if i + 1 < len(groups):
                pending = reader.submit(history_files.read, groups[i + 1], RECORDS)
            summary.skipped += [{"file": f, "line": line, "reason": why} for f, line, why in skipped]
            yield pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _batches(results: pd.DataFrame | str | os.PathLike, summary: IngestSummary, running: bool,
             statuses: dict[str, str]):
    """The input's tables, runs still running held back unless `running`. Fills `statuses`
    (source -> the run's status)."""
    for table in _tables(results, summary):
        held = _still_running(table, statuses)
        if running:
            held = np.zeros(len(table), dtype=bool)
        if held.any():
            summary.running += sorted(set(table.filter(pa.array(held)).column("run_id").to_pylist()))
            table = table.filter(pa.array(~held))
        yield table


def ingest(results: pd.DataFrame | str | os.PathLike, into: str | os.PathLike, *, running: bool = False) -> IngestSummary:
    """Adds the runs of `results` (a results tree, run folder or records file, read with
    rackqual.load; or a DataFrame of its contract) to the history `into`, creating it if needed.
    Runs already in the history are skipped; lines the loader skipped are counted and named; runs
    whose manifest says "running" wait for a later ingest unless `running` (a run that died keeps
    that status: take it as it is with running=True, its run marked incomplete).
    All or nothing: on any error the history is left as it was and the error raised."""
    history = pathlib.Path(into)
    (history / "runs").mkdir(parents=True, exist_ok=True)
    (history / "records").mkdir(exist_ok=True)
    summary = IngestSummary(history)
    with (history / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        summary.recovered = _recover(history)
        ingest_id = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        staging = history / f".staging-{ingest_id}"
        staging.mkdir()
        try:
            _ingest(results, history, staging, ingest_id, summary, running)
        except BaseException:
            _recover(history)
            raise
        shutil.rmtree(staging)
    return summary


def _ingest(results, history: pathlib.Path, staging: pathlib.Path, ingest_id: str, summary: IngestSummary,
            running: bool) -> None:
    written: list[pathlib.Path] = []
    runs: list[pa.Table] = []
    seen: dict[str, str] = {}   # run_id -> the records file it was taken from in this ingest
    statuses: dict[str, str] = {}   # records file -> its run's status
    for batch, table in enumerate(_batches(results, summary, running, statuses)):
        if not len(table):
            continue
        pairs = pa.table({"run_id": _plain(table.column("run_id")), "source": _plain(table.column("source"))})
        pairs = pairs.group_by(["run_id", "source"]).aggregate([]).sort_by([("run_id", "ascending"), ("source", "ascending")])
        present = _committed(history, pairs.column("run_id").to_pylist())
        take = []
        for run_id, source in zip(pairs.column("run_id").to_pylist(), pairs.column("source").to_pylist()):
            if run_id in present:
                if run_id not in summary.runs_present:
                    summary.runs_present.append(run_id)
            elif run_id in seen and seen[run_id] != source:
                summary.duplicates.append(f"{source}: run {run_id} already taken from {seen[run_id]}")
            elif run_id not in seen:
                seen[run_id] = source
                take.append(f"{run_id}\n{source or ''}")
        if len(take) < len(pairs):
            key = pc.binary_join_element_wise(_plain(table.column("run_id")), pc.fill_null(_plain(table.column("source")), ""), "\n")
            table = table.filter(pc.is_in(key, pa.array(take, pa.string())))
        if not len(table):
            continue
        written += _write_batch(table, staging, ingest_id, batch)
        runs.append(_runs_table(table, ingest_id, statuses))
        summary.records += len(table)
    if not runs:
        return
    index = pa.concat_tables(runs)
    summary.runs_added = sorted(set(index.column("run_id").to_pylist()))
    summary.incomplete = sorted({r for r, s in zip(index.column("run_id").to_pylist(), index.column("status").to_pylist())
                                 if s == "incomplete"})
    summary.files = len(written)
    # The journal says what will move where before anything moves: a recovery undoes it by this list.
    relative = [str(pathlib.Path("records") / f.relative_to(staging / "records")) for f in written]
    index_name = f"runs/ingest-{ingest_id}.parquet"
    journal = staging / "journal.json"
    journal.write_text(json.dumps({"index": index_name, "files": relative}))
    _fsync(journal)
    pq.write_table(index, staging / "runs.parquet")
    for f in written:
        _fsync(f)
    _fsync(staging / "runs.parquet")
    for f, rel in zip(written, relative):
        (history / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(f, history / rel)
    os.replace(staging / "runs.parquet", history / index_name)   # the commit
    _fsync(history / "runs")


# ---------------------------------------------------------------------------------------------
# Reading


def _quote(path: pathlib.Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def connect(history: str | os.PathLike, config: dict | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with two views over the history: `runs` (one row per committed run)
    and `records` (their records, with the partition column date)."""
    path = pathlib.Path(history)
    if not is_history(path):
        raise FileNotFoundError(f"{path}: not a history (no runs folder)")
    con = duckdb.connect(config=config or {})
    attach(con, path)
    return con


def attach(con: duckdb.DuckDBPyConnection, history: pathlib.Path, prefix: str = "") -> None:
    """Creates the views {prefix}runs and {prefix}records of `history` in `con`."""
    runs, records = f"{prefix}runs", f"{prefix}records"
    if any((history / "runs").glob("*.parquet")):
        # By name: runs files written before a column was added read it as null.
        con.execute(f"CREATE OR REPLACE VIEW {runs} AS SELECT * FROM read_parquet("
                    f"{_quote(history / 'runs' / '*.parquet')}, union_by_name = true)")
        con.execute(
            f"CREATE OR REPLACE VIEW {records} AS SELECT * FROM read_parquet("
            f"{_quote(history / 'records' / '*' / '*.parquet')}, hive_partitioning = true, "
            f"hive_types = {{'date': DATE}}) WHERE run_id IN (SELECT run_id FROM {runs})")
    else:
        empty = RECORDS.empty_table().append_column("date", pa.array([], pa.date32()))
        con.register(f"{records}_empty", empty)
        con.register(f"{runs}_empty", RUNS.empty_table())
        con.execute(f"CREATE OR REPLACE VIEW {runs} AS SELECT * FROM {runs}_empty")
        con.execute(f"CREATE OR REPLACE VIEW {records} AS SELECT * FROM {records}_empty")


def query(history: str | os.PathLike, sql: str, parameters: list | None = None) -> pd.DataFrame:
    """Runs `sql` over the views `records` and `runs` of `history`; the result as a DataFrame."""
    con = connect(history)
    try:
        return con.execute(sql, parameters or []).df()
    finally:
        con.close()


# ---------------------------------------------------------------------------------------------
# python -m rackqual ingest RESULTS --into HISTORY


def cli(argv: list[str]) -> int:
    """python -m rackqual ingest RESULTS --into HISTORY [--running]: exit 0 once ingested (runs already
    there or still running included), 2 on bad input (RESULTS missing, unreadable or without records,
    HISTORY not a folder or not writable) and 3 when writing failed (the history left as it was)."""
    parser = ArgumentParser(prog="rackqual ingest",
                            description="Adds runs' records to a Parquet history (partitioned by date, clustered by rack).")
    parser.add_argument("results", help="a results tree, a run folder or a records.jsonl file")
    parser.add_argument("--into", required=True, metavar="HISTORY", help="the history folder (created if missing)")
    parser.add_argument("--running", action="store_true",
                        help="also take runs whose manifest says they are still running (e.g. a run that died)")
    try:
        args = parser.parse_args(argv)
        summary = _ingest_input(args.results, args.into, args.running)
    except SystemExit as e:   # --help
        return EXIT_BAD_INPUT if e.code else EXIT_PASS
    except (BadInput, FileNotFoundError, NotADirectoryError, PermissionError, IsADirectoryError, ValueError) as e:
        return refuse(e)
    except OSError as e:   # writing failed (a full disk...): the history is as it was
        said = describe(e) if e.filename is not None else f"{args.into}: {e.strerror or first_line(e)}"
        print(said, file=sys.stderr)
        return EXIT_ERROR
    lines = summary.lines()
    print(lines[0])
    for line in lines[1:]:
        print(line, file=sys.stderr)
    return EXIT_PASS


def _ingest_input(results: str, into: str, running: bool) -> IngestSummary:
    """ingest for the command: a history path that is not a folder, and input without a single
    record (only unreadable lines, or none), are bad input."""
    if pathlib.Path(into).exists() and not pathlib.Path(into).is_dir():
        raise BadInput(f"{into}: not a folder (the history)")
    summary = ingest(results, into, running=running)
    if not (summary.records or summary.runs_present or summary.running or summary.duplicates):
        n = len(summary.skipped)
        raise BadInput(f"{results}: no rackqual records" + (f" ({n} unreadable line(s) skipped)" if n else ""))
    return summary
