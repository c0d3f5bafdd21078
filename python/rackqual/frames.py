"""Small helpers over the loader's DataFrame that every module shares: a column whether or not the
records had it, the fields read as numbers, and cells, numbers and sizes as text.

A leaf: it imports nothing else from the package, so any module may import it.
"""
from __future__ import annotations

import json
import math

import pandas as pd

__all__ = ["NUMERIC", "tidy", "column", "text", "number", "bytes_text", "json_value", "to_number", "size_of"]

# Fields read as numbers. A foreign record with text there (e.g. "value": "fast") turns the loader's
# column into text; read as numbers, such an entry is missing instead of breaking the arithmetic.
NUMERIC = ("value", "rank", "device.index", "arrival.latest_late_s", "timing.launches_per_batch", "isolation.probe")


def tidy(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with the fields read as numbers numeric whatever foreign records put there."""
    bad = [c for c in NUMERIC if c in df.columns and not pd.api.types.is_numeric_dtype(df[c])]
    if not bad:
        return df
    out = df.copy()
    for c in bad:
        out[c] = pd.to_numeric(out[c].astype("string"), errors="coerce").astype("float64")
    out.attrs = dict(df.attrs)
    return out


def column(df: pd.DataFrame, name: str) -> pd.Series:
    """A column of `df`, or missing values where the records never had that field."""
    return df[name] if name in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")


def text(value) -> str:
    """A cell as text, missing as ''."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value)


def number(value: float, unit: str = "") -> str:
    """A figure with four significant digits and its unit; 'n/a' where missing or not finite."""
    if value is None or value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f"{value:.4g}" + (f" {unit}" if unit else "")


def bytes_text(n: float) -> str:
    """A size in bytes as a reader writes it: 64 KiB, 1.5 MiB, 2 GiB, 512 B."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            v = n / scale
            return f"{v:g} {unit}" if v == int(v) else f"{v:.3g} {unit}"
    return f"{n:g} B"


def json_value(cell) -> object:
    """A cell of JSON text (the loader's objects nested deeper than one level) as its value; None
    where missing or not JSON; a cell that is not text as it is."""
    if cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell is pd.NA:
        return None
    if not isinstance(cell, str):
        return cell
    try:
        return json.loads(cell)
    except ValueError:
        return None


def to_number(value) -> float:
    """A value as a float, NaN where it is none."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def size_of(cell) -> float:
    """A record's message size from its params.sizes (JSON text: a list of one size, or a size)."""
    sizes = json_value(cell)
    if isinstance(sizes, list) and sizes:
        return to_number(sizes[0])
    return to_number(sizes)
