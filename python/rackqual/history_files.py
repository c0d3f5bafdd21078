"""Records files straight into the fleet history's table: the compiled reader gives the history's
columns (history.RECORDS, flattened) on several threads, with text dictionary-coded, and this
module makes them Arrow arrays, sorts them by date, rack, host, check and metric through the
codes, and writes the Parquet. The values stored are the data-frame path's (rackqual.load then
history.to_table): what the reader keeps alike is said in harness/records/history_columns.hpp.

Text columns stay dictionary arrays up to the Parquet writer, which stores them as plain UTF-8
columns with dictionary pages (what it would build from strings, without hashing them again); no
Arrow schema is stored in the file, so every reader (DuckDB, pyarrow, Spark, Trino) reads text.
"""
from __future__ import annotations

import os
import pathlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from rackqual import _core

SORT_KEYS = ["date", "rack", "host", "check", "metric"]
_MISSING_TIME = np.iinfo(np.int64).min


def threads() -> int:
    """The cores this process may use."""
    return max(1, len(os.sched_getaffinity(0)))


def _text(codes: np.ndarray, values: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0), pa.array(values, pa.string()))


def _long_text(rows: int, offsets: np.ndarray, data: np.ndarray, present: np.ndarray) -> pa.Array:
    validity = pa.py_buffer(np.packbits(present.astype(bool), bitorder="little"))
    array = pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data), validity,
                                             null_count=int(rows - np.count_nonzero(present)))
    return array.cast(pa.string())


def _array(kind: str, data, values, rows: int) -> pa.Array:
    if kind == "text":
        return _text(data, values)
    if kind == "long_text":
        return _long_text(rows, *data)
    if kind == "number":
        return pa.array(data, from_pandas=True)   # NaN: null
    if kind == "boolean":
        return pa.array(data == 1, mask=data < 0)
    return pa.array(data, pa.timestamp("ns", tz="UTC"), mask=data == _MISSING_TIME).cast(pa.timestamp("ms", tz="UTC"), safe=False)


def _int32(array: pa.Array) -> pa.Array:
    return pc.if_else(pc.is_finite(array), array, None).cast(pa.int32(), safe=False)


def struct_column(type_: pa.StructType, arrays: list[pa.Array]) -> pa.Array:
    """A struct column, null where every field is (both ingest paths build device, stats and correct so)."""
    valid = arrays[0].is_valid()
    for a in arrays[1:]:
        valid = pc.or_(valid, a.is_valid())
    return pa.StructArray.from_arrays(arrays, fields=list(type_), mask=pc.invert(valid))


def _dates(run: pa.DictionaryArray, time_ms: pa.Array) -> pa.DictionaryArray:
    """Each row's run's date: the UTC day of the run's first record."""
    codes = run.indices.to_numpy(zero_copy_only=False)
    ms = time_ms.cast(pa.int64()).to_numpy(zero_copy_only=False)
    first = np.full(len(run.dictionary), np.iinfo(np.int64).max)
    np.minimum.at(first, codes, ms)
    days = np.datetime_as_string(first.astype("datetime64[ms]").astype("datetime64[D]"), unit="D")
    used = np.unique(codes)
    names, index = np.unique(days[used], return_inverse=True)
    of_run = np.full(len(first), -1, np.int32)
    of_run[used] = index
    return _text(of_run[codes], list(names))


def share_table(share: tuple, records: pa.Schema) -> tuple[pa.Table, list[tuple[str, int, str]]]:
    """One share of the reader as the history's table (RECORDS with text as dictionaries, plus
    date), rows without a time left out; and its skipped lines."""
    rows, columns, skipped = share
    got = {name: _array(kind, data, values, rows) for name, kind, data, values in columns}
    got["rank"], got["schema"] = _int32(got["rank"]), _int32(got["schema"])
    got["device.index"] = _int32(got["device.index"])
    arrays = []
    for field in records:
        if pa.types.is_struct(field.type):
            arrays.append(struct_column(field.type, [got[f"{field.name}.{f.name}"].cast(f.type) for f in field.type]))
        else:
            arrays.append(got[field.name])
    table = pa.table(arrays, names=records.names)
    if table.column("time").null_count:
        table = table.filter(table.column("time").is_valid())
    run = table.column("run_id").combine_chunks()
    return table.append_column("date", _dates(run, table.column("time").combine_chunks())), list(skipped)


def read(paths: list[pathlib.Path], records: pa.Schema) -> tuple[list[pa.Table], list[tuple[str, int, str]]]:
    """The records of `paths` as tables of the history (one per share read side by side) and
    the lines skipped."""
    tables, skipped = [], []
    for share in _core.read_history([str(p) for p in paths], threads()):
        table, lines = share_table(share, records)
        tables.append(table)
        skipped += lines
    return tables, skipped


def _ranks(tables: list[pa.Table], name: str) -> list[np.ndarray]:
    """Per table, each row's rank of its `name` text among every table's values (nulls last)."""
    dictionaries = [t.column(name).combine_chunks() for t in tables]
    values = np.unique(np.concatenate([d.dictionary.to_numpy(zero_copy_only=False).astype(object) for d in dictionaries]))
    out = []
    for d in dictionaries:
        rank_of = np.append(np.searchsorted(values, d.dictionary.to_numpy(zero_copy_only=False).astype(object)), len(values))
        codes = d.indices.fill_null(0).to_numpy(zero_copy_only=False)
        out.append(rank_of[np.where(d.indices.is_valid().to_numpy(zero_copy_only=False), codes, -1)])
    return out


def sorted_table(tables: list[pa.Table]) -> pa.Table:
    """The tables as one, sorted by SORT_KEYS through their dictionaries' codes."""
    keys = [np.concatenate(_ranks(tables, name)) for name in SORT_KEYS]
    order = np.lexsort(keys[::-1])
    table = pa.concat_tables(tables, promote_options="none") if len(tables) > 1 else tables[0]
    return table.take(pa.array(order))


def write(table: pa.Table, folder: pathlib.Path, basename: str, row_group: int, file_rows: int) -> list[pathlib.Path]:
    """A sorted table's rows under folder/date=D/, a file per date and FILE_ROWS rows, written on
    the process's cores; returns the files. The table's own date column goes in the path only."""
    dates = table.column("date").combine_chunks()
    codes = dates.indices.to_numpy(zero_copy_only=False)
    jobs = []
    bounds = np.flatnonzero(np.diff(codes)) + 1
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(codes)]):
        date = dates.dictionary[codes[start]].as_py()
        pieces = max(-(-(stop - start) // file_rows), min(threads(), (stop - start) // row_group) or 1)
        cuts = np.linspace(start, stop, pieces + 1).astype(int)
        for a, b in zip(cuts[:-1], cuts[1:]):
            jobs.append((table.slice(a, b - a).drop_columns(["date"]), folder / f"date={date}" / f"{basename}-{len(jobs)}.parquet"))
    for _, path in jobs:
        path.parent.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(threads()) as pool:
        list(pool.map(lambda job: pq.write_table(job[0], job[1], row_group_size=row_group, compression="zstd",
                                                 store_schema=False), jobs))
    return [path for _, path in jobs]
