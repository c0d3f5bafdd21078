"""Makes history-0.1.0/, the fixture that stands for a fleet history already on disk (README.md):

    history-0.1.0/history/        the history: four runs in three ingests
    history-0.1.0/source/RUN/     records.jsonl and manifest.json of the runs the first three came from
    history-0.1.0/expected.json   its runs and records as rackqual.history.query read them when made

The runs: two finished runs of the tests' suite (conftest.SUITE, 4 ranks on 1 rack x 2 hosts); a
third killed halfway (its manifest still says running, its last line cut short), taken with
running=True (status incomplete); and a copy of the first run's GEMM records 400 days earlier
under another run_id, ingested as a DataFrame (no manifest: status null; another date partition).

Run from the repository root with the build's binary, as the tests are:
    RACKQUAL_BUILD=build RACKQUAL_BIN=build/rackqual .venv/bin/python tests/python/data/make_history.py
It refuses to write over an existing fixture: histories on disk are never remade, neither is it.
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import sys
import tempfile

import pandas as pd

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))   # conftest (the binary and the suite) and the format test's canonical rows

import conftest  # noqa: E402
import rackqual  # noqa: E402
from rackqual import history  # noqa: E402
from test_history_format import FIXTURE, canonical_rows  # noqa: E402


def main() -> int:
    if FIXTURE.exists():
        print(f"{FIXTURE}: exists; it stands for histories already on disk and is never remade in place",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        suite = pathlib.Path(tmp) / "pytest.yaml"
        suite.write_text(conftest.SUITE)
        runs = pathlib.Path(tmp) / "runs"
        made = [conftest.run_suite(suite, runs) for _ in range(3)]
        source = FIXTURE / "source"
        for run in made:
            (source / run.name).mkdir(parents=True)
            for name in ("records.jsonl", "manifest.json"):
                shutil.copy(run / name, source / run.name / name)
    killed = source / made[2].name
    manifest = json.loads((killed / "manifest.json").read_text())
    (killed / "manifest.json").write_text(json.dumps(dict(manifest, status="running", end_time=None), indent=2) + "\n")
    lines = (killed / "records.jsonl").read_text().splitlines(keepends=True)
    half = len(lines) // 2
    (killed / "records.jsonl").write_text("".join(lines[:half]) + lines[half][: len(lines[half]) // 2])

    # From the fixture's folder, so that the records' source column holds paths relative to it.
    os.chdir(FIXTURE)
    history.ingest("source", "history")                  # the finished runs; the killed one held back
    history.ingest("source", "history", running=True)    # the killed one, incomplete
    first = rackqual.load(pathlib.Path("source") / made[0].name)
    older = first[first["kind"] == "gemm"].copy()
    older["run_id"] = made[0].name + "-older"
    older["time"] = older["time"] - pd.Timedelta(days=400)
    history.ingest(older, "history")
    expected = {
        "runs": canonical_rows(history.query("history", "SELECT * FROM runs")),
        "records": canonical_rows(history.query("history", "SELECT * FROM records")),
    }
    # One row a line: small, and a diff names the rows it touches.
    body = ",\n".join(f" {json.dumps(name)}: [\n" + ",\n".join("  " + json.dumps(r, sort_keys=True) for r in rows) + "]"
                      for name, rows in expected.items())
    pathlib.Path("expected.json").write_text("{\n" + body + "\n}\n")
    print(f"{FIXTURE}: {len(expected['runs'])} runs, {len(expected['records'])} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
