"""Type stubs of rackqual._core, the compiled module (python/src/core_module.cpp)."""
from typing import Any

import numpy as np

__version__: str

class InputError(ValueError):
    """A suite, profile or records file that is wrong: "file:line: field: message"."""

class FieldError(ValueError):
    """A parameter or criterion wrong on its own: "field: message"."""

class SetupError(RuntimeError):
    """The machine cannot run what was asked (no such backend, no device)."""

def kinds() -> list[dict[str, Any]]:
    """Every benchmark kind: name, help, scopes, params (name, type, default, help, choices),
    metrics (name, unit, better, help)."""

def load_suite(path: str, backend: str = "host", device: str = "", platform: str = "") -> dict[str, Any]:
    """A suite loaded, validated and planned for a backend: name, path, hash, platform, and its
    checks (id, kind, scope, params, criteria, points with their bounds, repetitions, min_time,
    deadline, line). Raises InputError."""

def judge(records: str, suite: str, platform: str = "") -> str:
    """A records file judged again by a suite's criteria, as `rackqual judge` does: JSON Lines."""

def run(suite: str, out: str = "results", backend: str = "auto", only: list[str] = ...,
        faults: list[str] = ...) -> tuple[int, str]:
    """Runs a suite on one rank in this process; (exit code, run folder)."""

Columns = tuple[int, list[tuple[str, str, np.ndarray, list[str] | None]], list[tuple[str, int, str]]]

def read_records(paths: list[str]) -> Columns:
    """Record files into columns: (rows, [(name, type, data, values)], [(file, line, reason)]).
    type "number": float64 (NaN missing); "boolean": int8 (-1 missing); "text": int32 codes into
    values (-1 missing); "time": int64 ns since the epoch, UTC (INT64_MIN missing)."""

def read_history(paths: list[str], threads: int = 1) -> list[Columns]:
    """Record files into the fleet history's columns (history.RECORDS, device, stats and correct
    flattened with dots), in shares of consecutive files read on `threads` threads: one Columns
    per share. Adds the type "long_text": (offsets int64, bytes uint8, present int8), values None."""

def read_records_text(text: str, name: str = "<text>") -> Columns:
    """JSON Lines text into columns, as read_records."""

def load_inventory(path: str) -> dict[str, Any]:
    """An inventory read and validated as `rackqual run --inventory` does: path, cluster, racks
    (name, leaf_switch, hosts: [{name, gpus}]). Raises InputError."""

def step_work(params: dict[str, Any], ranks: int) -> dict[str, float]:
    """What one training step (transformer_step) does per rank on a group of `ranks`: flops,
    memory_bytes (estimated), allreduce_bytes, parameters."""


def write_file_whole(path: str, text: str) -> None:
    """Writes a file whole as every rackqual file is written (a new PATH.tmp, synced, renamed over
    PATH; never through a link). Raises SetupError naming the path."""

def allreduce_bus_factor(ranks: int) -> float:
    """busbw / algbw of an all-reduce over `ranks` ranks: 2(n-1)/n (nccl-tests' convention)."""

# The median absolute deviation times this estimates a standard deviation (the robust z-score's scale).
MAD_TO_STANDARD_DEVIATION: float

def element_types() -> list[dict]:
    """Every element type: name, bytes, floating, unit_roundoff, cuda_name, nccl_name, numpy_name (empty where the
    library has none), help."""

# The floating element types from most to least precise: what "the nearest type measured" means.
DTYPES_BY_PRECISION: tuple[str, ...]
