"""rackqual for Python: results as pandas DataFrames, the fleet history, analysis and reports.

The compiled module `rackqual._core` shares its C++ with the rackqual CLI: suites, kinds,
judging, in-process runs and the fast reader of record files.
"""
import os as _os

# In a source checkout the compiled module lives in the build tree: RACKQUAL_BUILD names it.
if _os.environ.get("RACKQUAL_BUILD"):
    __path__.append(_os.path.join(_os.environ["RACKQUAL_BUILD"], "python", "rackqual"))

from rackqual.records import judge, load, run  # noqa: E402
from rackqual._core import InputError, kinds, load_suite  # noqa: E402

__all__ = ["load", "judge", "run", "kinds", "load_suite", "InputError"]
