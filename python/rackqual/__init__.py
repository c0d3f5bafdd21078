"""rackqual for Python: results as pandas DataFrames, the fleet history, analysis and reports.

The compiled module `rackqual._core` shares its C++ with the rackqual CLI: suites, kinds,
judging, in-process runs and the fast reader of record files.
"""
import os as _os
import sys as _sys

from rackqual import dependencies as _dependencies

# In a source checkout the compiled module lives in the build tree: RACKQUAL_BUILD names it.
if _os.environ.get("RACKQUAL_BUILD"):
    __path__.append(_os.path.join(_os.environ["RACKQUAL_BUILD"], "python", "rackqual"))
# An installed package carries the suites and platform profiles beside it.
_data = _os.path.join(_os.path.dirname(__file__), "data")
if _os.path.isdir(_os.path.join(_data, "suites")):
    _os.environ.setdefault("RACKQUAL_DATA_DIR", _data)

# Every dependency at its lowest tested release, or one line naming the one that is not (or does
# not import): raised, or under `python -m rackqual` (the CLI) printed with exit 2, as any bad set-up.
try:
    _dependencies.check()
    from rackqual.records import judge, load, run
    from rackqual.board import board
    from rackqual._core import InputError, kinds, load_suite
except ImportError as _e:
    if not _dependencies.imported_by_cli():
        raise
    print(_dependencies.explain(_e), file=_sys.stderr)
    raise SystemExit(2) from None

__all__ = ["load", "judge", "run", "board", "kinds", "load_suite", "InputError"]
