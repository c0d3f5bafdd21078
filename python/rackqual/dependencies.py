"""The releases of its dependencies the package needs, checked when it is imported: one line naming
the one missing or too old (`rackqual needs duckdb>=1.1.3 (found 0.9.2)`), not an error from deep
inside it later. The lower bounds are pyproject.toml's, the releases python/requirements.txt pins
and the package test installs; the newest releases are tested too.

A leaf: it imports nothing else from the package, so any module may import it.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import sys

__all__ = ["MINIMUM", "MissingDependency", "check", "explain", "imported_by_cli"]

# Distribution name: the oldest release tested.
MINIMUM = {"numpy": "2.1.3", "pandas": "2.2.3", "pyarrow": "18.1.0", "duckdb": "1.1.3", "plotly": "5.24.1",
           "jinja2": "3.1.4"}


class MissingDependency(ImportError):
    """A dependency not installed, not importable or older than MINIMUM; its message is one line."""


def release(version: str) -> tuple[int, ...]:
    """The numeric release of a version string: '2.2.3' and '2.2.3rc1' are (2, 2, 3)."""
    found = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(p) for p in found.group(0).split(".")) if found else ()


def installed(name: str) -> str | None:
    """The installed version of distribution `name` (its metadata, else its module's __version__);
    None where there is none to import."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
    if importlib.util.find_spec(name) is None:
        return None
    return str(getattr(importlib.import_module(name), "__version__", "0"))


def check(names: tuple[str, ...] = tuple(MINIMUM)) -> None:
    """Raises MissingDependency for the first of `names` not installed or older than MINIMUM."""
    for name in names:
        found = installed(name)
        if found is None:
            raise MissingDependency(f"rackqual needs {name}>={MINIMUM[name]} (not installed)", name=name)
        if release(found) < release(MINIMUM[name]):
            raise MissingDependency(f"rackqual needs {name}>={MINIMUM[name]} (found {found})", name=name)


def explain(error: ImportError) -> str:
    """An import error as one line, naming the dependency where it is one of MINIMUM."""
    message = (str(error).strip().splitlines() or [type(error).__name__])[0]
    top = (error.name or "").partition(".")[0]
    if isinstance(error, MissingDependency) or top not in MINIMUM:
        return message
    return f"rackqual needs {top}>={MINIMUM[top]} ({message})"


def imported_by_cli() -> bool:
    """Whether `python -m rackqual` is importing the package: while Python locates the module to
    run, sys.argv[0] is "-m" (the -m option's documented behaviour)."""
    return sys.argv[:1] == ["-m"]
