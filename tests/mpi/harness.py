"""Runs the real rackqual binary under mpiexec and reads what it wrote."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = os.environ.get("RACKQUAL_BIN", str(ROOT / "build" / "rackqual"))
MPIEXEC = os.environ.get("RACKQUAL_MPIEXEC", "mpiexec.mpich")
RANKS = int(os.environ.get("RACKQUAL_RANKS", "2"))
DATA = ROOT / "tests" / "data"


def run_folders(out: pathlib.Path) -> set[pathlib.Path]:
    return {p for p in out.iterdir() if p.is_dir()} if out.exists() else set()


class Run:
    """One finished rackqual invocation: exit code, output, and the run folder it wrote."""

    def __init__(self, proc: subprocess.CompletedProcess, out: pathlib.Path, before: set | None = None):
        self.code = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        # The folder this invocation made: run ids of one second sort by their random suffix, so
        # the newest by name is not always the newest run.
        runs = sorted(p for p in run_folders(out) if p not in (before or set()))
        self.dir = runs[-1] if runs else None

    def records(self) -> list[dict]:
        return [json.loads(line) for line in (self.dir / "records.jsonl").read_text().splitlines()]

    def manifest(self) -> dict:
        return json.loads((self.dir / "manifest.json").read_text())


class RackqualTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = pathlib.Path(self._tmp.name)
        self.out = self.tmp / "results"

    def tearDown(self):
        self._tmp.cleanup()

    def rackqual(self, *args: str, ranks: int | None = 0, timeout: float = 300, env: dict | None = None) -> Run:
        """Runs `rackqual ARGS`; under mpiexec with `ranks` ranks (RANKS when 0, none when None)."""
        command = [BIN, *args]
        if ranks is not None:
            command = [MPIEXEC, "-n", str(ranks or RANKS), *command]
        before = run_folders(self.out)
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)
        return Run(proc, self.out, before)

    def run_suite(self, suite: str | pathlib.Path, *args: str, **kw) -> Run:
        return self.rackqual("run", str(suite), "--out", str(self.out), *args, **kw)

    def write(self, name: str, text: str) -> pathlib.Path:
        path = self.tmp / name
        path.write_text(text)
        return path
