"""Fixtures of the Python tests: the package from the source tree with its compiled module from the
build tree, and real results the host backend produces during the test run."""
from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
# RACKQUAL_INSTALLED=1: the tests of the package installed in this Python (the package test runs
# them so on the wheel), not of the source tree with the build tree's compiled module.
INSTALLED = os.environ.get("RACKQUAL_INSTALLED") == "1"
if INSTALLED:
    BUILD = pathlib.Path(os.environ.pop("RACKQUAL_BUILD", str(ROOT / "build")))
else:
    BUILD = pathlib.Path(os.environ.setdefault("RACKQUAL_BUILD", str(ROOT / "build")))
    sys.path.insert(0, str(ROOT / "python"))
BIN = os.environ.get("RACKQUAL_BIN", str(BUILD / "rackqual"))
MPIEXEC = os.environ.get("RACKQUAL_MPIEXEC", "mpiexec.mpich")
# The folder the package under test is imported from, for the Python processes the tests start.
PACKAGE = pathlib.Path(importlib.util.find_spec("rackqual").origin).parents[1]
assert INSTALLED != PACKAGE.is_relative_to(ROOT), f"rackqual from {PACKAGE}"

# Small checks of every kind, two simulated hosts of two GPUs: records with hosts, racks, devices,
# sweeps, collectives and a training step, in seconds.
SUITE = """\
name: pytest
platform: auto
defaults: {repetitions: 5, min_time: 0.02s, deadline: 120s}
checks:
  - id: gemm
    kind: gemm
    scope: gpu
    params: {m: 256, n: 256, k: 256, dtype: fp32}
    criteria:
      tflops: {min: 0.001, min_fraction_of_group_median: 0.2}
  - id: hbm-triad
    kind: hbm
    scope: gpu
    params: {op: triad, bytes: 64MiB}
    criteria:
      gbps: {min: 0.2}
  - id: allreduce-cluster
    kind: allreduce
    scope: cluster
    params: {sizes: [64KiB, 1MiB], dtype: fp32}
    criteria:
      busbw_gbps: {min: 0.01, at: 1MiB}
  - id: step
    kind: transformer_step
    scope: node
    params: {hidden: 64, heads: 4, seq: 32, micro_batch: 2, layers: 1, vocab: 256, dtype: fp32}
    criteria:
      step_time_s: {max: 30}
"""


def rackqual(*args: str, ranks: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs the rackqual binary, under mpiexec with `ranks` ranks when given."""
    command = [BIN, *args]
    if ranks:
        command = [MPIEXEC, "-n", str(ranks), *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def run_suite(suite: pathlib.Path, out: pathlib.Path, *args: str, ranks: int = 4) -> pathlib.Path:
    """Runs `suite` into `out` on `ranks` ranks placed as 1 rack x 2 hosts; returns the run folder."""
    before = set(out.iterdir()) if out.exists() else set()
    proc = rackqual("run", str(suite), "--out", str(out), "--simulate", f"1x2x{ranks // 2}", *args, ranks=ranks)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    (made,) = set(out.iterdir()) - before
    return made


@pytest.fixture(scope="session")
def suite_file(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("suite") / "pytest.yaml"
    path.write_text(SUITE)
    return path


@pytest.fixture(scope="session")
def results(tmp_path_factory, suite_file) -> pathlib.Path:
    """A results tree of two real runs of SUITE on the host backend (4 ranks each)."""
    out = tmp_path_factory.mktemp("results")
    run_suite(suite_file, out)
    run_suite(suite_file, out)
    return out


def open_offline(page, path: pathlib.Path, seen: dict) -> None:
    """Loads a self-contained page (the report, the board) in a browser page with every request but
    the file itself refused and counted in seen["requests"], console errors in seen["errors"], and
    waits until every plot is drawn."""
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            seen["requests"].append(r.request.url)
            r.abort()
    page.route("**/*", route)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function("() => [...document.querySelectorAll('.plotly-graph-div')]"
                           ".every(d => d._fullLayout)", timeout=60000)
