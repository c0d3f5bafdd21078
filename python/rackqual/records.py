"""Records into pandas: `load` a run folder, a records file or a tree of runs as one tidy DataFrame.

The reading is the compiled module's (simdjson, columns dictionary-encoded in C++); this module
only names the columns' pandas types. One row per record; top-level fields by name, objects
flattened one level with dots (device.name, params.m, stats.median), anything deeper as JSON text;
`source` is the file a row came from. Lines that are not records are skipped, never raised:
`df.attrs["skipped"]` lists each with its file, line and reason.
"""
from __future__ import annotations

import os
import pathlib
import warnings

import numpy as np
import pandas as pd

from rackqual import _core

# Columns every frame has, even where no record gives a value (a run of group figures has no device).
CORE_COLUMNS = ["run_id", "time", "suite", "check", "kind", "backend", "scope", "group", "rank", "host", "rack",
                "device.index", "device.name", "device.serial", "metric", "value", "unit", "better", "criterion",
                "verdict", "reason", "correct.ok", "source"]
_NUMBERS = {"rank", "device.index", "value"}
_BOOLEANS = {"correct.ok"}


def record_files(path: str | os.PathLike) -> list[pathlib.Path]:
    """The records files `path` stands for: itself, its run folder's, or every one below it."""
    path = pathlib.Path(path)
    if path.is_file():
        return [path]
    if (path / "records.jsonl").is_file():
        return [path / "records.jsonl"]
    if path.is_dir():
        return sorted(path.rglob("records.jsonl"))
    raise FileNotFoundError(f"{path}: no such file or folder")


def _column(kind: str, data: np.ndarray, values: list[str] | None):
    if kind == "number":
        return data
    if kind == "boolean":
        return pd.arrays.BooleanArray(data == 1, data < 0)
    if kind == "time":   # INT64_MIN, the missing value, is numpy's NaT
        return pd.DatetimeIndex(data.view("datetime64[ns]")).tz_localize("UTC")
    return pd.Categorical.from_codes(data, categories=pd.Index(values, dtype=object))


def frame(read: tuple) -> pd.DataFrame:
    """A DataFrame from the module's columns (read_records' result)."""
    rows, columns, skipped = read
    df = pd.DataFrame({name: _column(kind, data, values) for name, kind, data, values in columns}, index=pd.RangeIndex(rows))
    for name in CORE_COLUMNS:
        if name not in df:
            df[name] = (np.full(rows, np.nan) if name in _NUMBERS else
                        pd.array([pd.NA] * rows, dtype="boolean") if name in _BOOLEANS else
                        pd.Categorical([None] * rows) if name != "time" else pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]"))
    if df["rank"].notna().all():
        df["rank"] = df["rank"].astype("int64")
    df.attrs["skipped"] = [{"file": f, "line": line, "reason": why} for f, line, why in skipped]
    if skipped:
        f, line, why = skipped[0]
        warnings.warn(f"rackqual: skipped {len(skipped)} line(s) that are not records, first {f}:{line}: {why}", stacklevel=3)
    return df


def load(path: str | os.PathLike) -> pd.DataFrame:
    """Every record of a run folder, a records file, or a tree of runs, as one DataFrame."""
    return frame(_core.read_records([str(f) for f in record_files(path)]))


def judge(records: str | os.PathLike, suite: str | os.PathLike, platform: str = "") -> pd.DataFrame:
    """A records file judged again by a suite's criteria, exactly as `rackqual judge` judges it."""
    return frame(_core.read_records_text(_core.judge(str(records), str(suite), platform), str(records)))


def run(suite: str | os.PathLike, out: str | os.PathLike = "results", backend: str = "auto",
        only: list[str] | None = None, faults: list[str] | None = None) -> pd.DataFrame:
    """Runs a suite on one rank in this process (a notebook on one GPU box) and loads its records;
    attrs["exit_code"] and attrs["run"] say how it ended and where it wrote."""
    code, folder = _core.run(str(suite), str(out), backend, list(only or []), list(faults or []))
    df = load(folder)
    df.attrs["exit_code"] = code
    df.attrs["run"] = folder
    return df
