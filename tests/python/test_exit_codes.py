"""Every Python command (python -m rackqual ingest | compare | report | sweep) exits 2 with one line
on stderr naming the path when an input is missing, unreadable or malformed, never 1 and never a
traceback; an error while it runs is 3, in one line too."""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

from conftest import PACKAGE, ROOT

INVENTORY = "cluster: exit-codes\nracks:\n  - name: r1\n    hosts:\n      - {name: r1n1, gpus: 2}\n"
GARBAGE = b'{"run_id": "x", "check": "gemm", "metric": "tfl\n{"hello": "a foreign JSON object"}\n\xff\xfe not text\n'


def python_m(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PACKAGE), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "rackqual", *args], capture_output=True, text=True, env=env,
                          timeout=300, stdin=subprocess.DEVNULL)


def assert_refused(proc: subprocess.CompletedProcess, path: pathlib.Path | str) -> None:
    """Exit 2, and one line on stderr that names `path` (`path: ...`, or `path:LINE: ...` as a
    file's own errors say) and says what is wrong with it."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.endswith("\n"), proc.stderr
    assert "Traceback" not in proc.stderr and f"{path}:" in proc.stderr, proc.stderr
    assert len(proc.stderr.split(f"{path}:", 1)[1].strip()) > 3, proc.stderr


@pytest.fixture
def bad(tmp_path) -> dict[str, pathlib.Path]:
    """Inputs no command can use: a path that is not there, an empty folder, a records file of
    unreadable lines, a run folder whose records.jsonl is a folder, a history whose runs file is not
    Parquet, and a file where a folder should be."""
    paths = {"missing": tmp_path / "missing", "empty": tmp_path / "empty", "garbage": tmp_path / "garbage" / "records.jsonl",
             "folder": tmp_path / "folder", "history": tmp_path / "history", "file": tmp_path / "a-file"}
    paths["empty"].mkdir()
    paths["garbage"].parent.mkdir()
    paths["garbage"].write_bytes(GARBAGE)
    (paths["folder"] / "records.jsonl").mkdir(parents=True)
    (paths["history"] / "runs").mkdir(parents=True)
    (paths["history"] / "runs" / "ingest-1.parquet").write_bytes(b"not parquet at all\n")
    paths["file"].write_text("a file\n")
    return paths


def test_usage_without_a_command_is_2():
    assert python_m().returncode == 2
    assert python_m("no-such-command").returncode == 2


# ---------------------------------------------------------------------------------------------
# ingest


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "folder"])
def test_ingest_of_unreadable_results_exits_2(case, bad, tmp_path):
    proc = python_m("ingest", str(bad[case]), "--into", str(tmp_path / "into"))
    assert_refused(proc, bad[case])


def test_ingest_into_a_file_or_an_unreadable_history_exits_2(results, bad):
    assert_refused(python_m("ingest", str(results), "--into", str(bad["file"])), bad["file"])
    assert_refused(python_m("ingest", str(results), "--into", str(bad["history"])), bad["history"])


def test_ingest_that_fails_to_write_exits_3_and_leaves_the_history(results, tmp_path, monkeypatch, capsys):
    from rackqual import history

    def full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(history.os, "replace", full)
    assert history.cli([str(results), "--into", str(tmp_path / "into")]) == 3
    err = capsys.readouterr().err
    assert err == f"{tmp_path / 'into'}: No space left on device\n", err
    assert not list((tmp_path / "into" / "runs").iterdir())


# ---------------------------------------------------------------------------------------------
# compare


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "folder", "history"])
def test_compare_with_an_unreadable_side_exits_2(case, bad, results):
    assert_refused(python_m("compare", str(bad[case]), str(results)), bad[case])
    if case != "history":
        assert_refused(python_m("compare", str(results), str(bad[case])), bad[case])


def test_compare_to_a_csv_in_a_missing_folder_exits_2(results, tmp_path):
    csv = tmp_path / "no" / "all.csv"
    assert_refused(python_m("compare", str(results), str(results), "--csv", str(csv)), csv)


# ---------------------------------------------------------------------------------------------
# report


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "folder"])
def test_report_of_unreadable_results_exits_2(case, bad, tmp_path):
    out = tmp_path / "report.html"
    assert_refused(python_m("report", str(bad[case]), "-o", str(out)), bad[case])
    assert not out.exists()


@pytest.mark.parametrize("case", ["missing", "empty", "garbage", "history"])
def test_report_against_an_unreadable_history_exits_2(case, bad, results, tmp_path):
    out = tmp_path / "report.html"
    assert_refused(python_m("report", str(results), "-o", str(out), "--history", str(bad[case])), bad[case])
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_report_onto_a_folder_exits_2(results, bad):
    assert_refused(python_m("report", str(results), "-o", str(bad["empty"])), bad["empty"])


# ---------------------------------------------------------------------------------------------
# sweep (every input refused before anything is submitted: no Slurm needed)


def sweep_args(tmp_path: pathlib.Path, **paths) -> list[str]:
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(INVENTORY)
    chosen = {"inventory": inventory, "results": tmp_path / "tree", "history": tmp_path / "hist", **paths}
    words = ["sweep"] + [w for name, path in chosen.items() if name in ("inventory", "results", "history")
                         for w in (f"--{name}", str(path))]
    return words + [w for name in ("suite", "template") if name in chosen for w in (f"--{name}", str(chosen[name]))]


@pytest.mark.parametrize("case", ["missing", "empty", "garbage"])
def test_sweep_with_an_unreadable_inventory_exits_2(case, bad, tmp_path):
    assert_refused(python_m(*sweep_args(tmp_path, inventory=bad[case])), bad[case])
    assert not (tmp_path / "tree").exists()


@pytest.mark.parametrize("what", ["suite", "template"])
def test_sweep_with_a_missing_suite_or_template_exits_2(what, bad, tmp_path):
    assert_refused(python_m(*sweep_args(tmp_path, **{what: bad["missing"]})), bad["missing"])


@pytest.mark.parametrize("what", ["results", "history"])
def test_sweep_into_a_file_exits_2(what, bad, tmp_path):
    assert_refused(python_m(*sweep_args(tmp_path, **{what: bad["file"]})), bad["file"])


# ---------------------------------------------------------------------------------------------
# an error while a command runs


def test_an_error_while_a_command_runs_exits_3_in_one_line(monkeypatch, capsys, tmp_path):
    from rackqual import __main__, history

    def broken(*args, **kwargs):
        raise RuntimeError("the disk went away\nand more")

    monkeypatch.setattr(history, "ingest", broken)
    assert __main__.main(["ingest", str(tmp_path), "--into", str(tmp_path / "into")]) == 3
    assert capsys.readouterr().err == "rackqual ingest: error: RuntimeError: the disk went away\n"
