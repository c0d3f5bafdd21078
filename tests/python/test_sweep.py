"""rackqual sweep under a real Slurm: two racks of one node each (r1n1, r2n1, slurmds of a cluster on
this machine, 2 GPUs each on the host backend), swept end to end into one results tree and one
history; a second night with a slow, faulty host (regressions, a host to drain); one rack's job
killed mid-run while the other runs on; bad input and a refused job."""
from __future__ import annotations

import json
import os
import pathlib
import random
import subprocess
import time

import pytest
from conftest import BIN, ROOT

from rackqual import history

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
NODES = {"r1": "r1n1", "r2": "r2n1"}
INVENTORY = "cluster: sweep-test\nracks:\n" + "".join(
    f"  - name: {rack}\n    hosts:\n      - {{name: {node}, gpus: 2}}\n" for rack, node in NODES.items())
# Small and quick on 4 ranks over 2 cores, long enough for a kill to land mid-run.
SUITE = """\
name: sweep-test
platform: auto
defaults: {repetitions: 5, min_time: 0.05s, deadline: 120s}
checks:
  - id: gemm
    kind: gemm
    scope: gpu
    params: {m: 128, n: 128, k: 128, dtype: fp32}
    criteria:
      tflops: {min: 0.000001}
  - id: hbm-triad
    kind: hbm
    scope: gpu
    params: {op: triad, bytes: 8MiB}
    criteria:
      gbps: {min: 0.001}
  - id: allreduce-node
    kind: allreduce
    scope: node
    params: {sizes: [64KiB], dtype: fp32}
    criteria:
      busbw_gbps: {min: 0.00001}
  - id: step
    kind: transformer_step
    scope: node
    params: {hidden: 64, heads: 4, seq: 32, micro_batch: 2, layers: 1, vocab: 256, dtype: fp32}
    criteria:
      step_time_s: {max: 60}
  - id: gemm-late   # at least 2 s: the kill, up to 1 s after the first record, lands before the end
    kind: gemm
    scope: gpu
    params: {m: 192, n: 192, k: 192, dtype: fp32}
    repetitions: 10
    min_time: 0.2s
    criteria:
      tflops: {min: 0.000001}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A Slurm cluster with nodes r1n1 and r2n1, stopped whatever the tests did."""
    folder = tmp_path_factory.mktemp("slurm")
    try:
        started = subprocess.run([str(CLUSTER), "start", str(folder), *NODES.values()], capture_output=True,
                                 text=True, timeout=120)
        assert started.returncode == 0, started.stdout + started.stderr
        env = dict(os.environ, SLURM_CONF=str(folder / "slurm.conf"), RACKQUAL_BIN=BIN)
        files = tmp_path_factory.mktemp("sweep")
        (files / "inventory.yaml").write_text(INVENTORY)
        (files / "suite.yaml").write_text(SUITE)
        yield env, files
    finally:
        subprocess.run([str(CLUSTER), "stop", str(folder)], capture_output=True, timeout=120)


def sweep_command(files: pathlib.Path, tree: pathlib.Path, hist: pathlib.Path, *args: str) -> list[str]:
    return [BIN, "sweep", "--inventory", str(files / "inventory.yaml"), "--results", str(tree), "--history", str(hist),
            "--suite", str(files / "suite.yaml"), "--time-limit", "5", *args]


def run_sweep(env: dict, command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)


def summary_of(tree: pathlib.Path, stdout: str) -> dict:
    """The summary the sweep wrote, the one its output names."""
    path = pathlib.Path(stdout.strip().splitlines()[-1].rsplit(" ", 1)[-1])
    assert path.parent == tree / "sweeps" and path.is_file(), stdout
    return json.loads(path.read_text())


def records_of(run: pathlib.Path) -> list[dict]:
    """Every line of a records file, each of which must be a whole JSON record."""
    text = (run / "records.jsonl").read_text()
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def runs_in(tree: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in tree.iterdir() if p.is_dir() and p.name != "sweeps")


def test_two_racks_swept_into_one_tree_and_history_then_a_worse_night(cluster, tmp_path):
    env, files = cluster
    tree, hist = tmp_path / "results", tmp_path / "history"
    proc = run_sweep(env, sweep_command(files, tree, hist))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = summary_of(tree, proc.stdout)
    assert out["exit_code"] == 0 and [r["rack"] for r in out["racks"]] == ["r1", "r2"]
    runs = runs_in(tree)
    assert len(runs) == 2
    for rack in out["racks"]:
        run = tree / rack["run_id"]
        manifest = json.loads((run / "manifest.json").read_text())
        records = records_of(run)
        assert rack["status"] == "pass" and rack["job_state"] == "COMPLETED" and rack["exit_code"] == 0
        assert manifest["status"] == "finished" and manifest["hosts"] == [NODES[rack["rack"]]]
        assert {r["host"] for r in records} == {NODES[rack["rack"]]} and {r["rack"] for r in records} == {rack["rack"]}
        assert {r["check"] for r in records} == {"gemm", "hbm-triad", "allreduce-node", "step", "gemm-late"}
        assert rack["records"] == len(records) and rack["verdicts"]["pass"] == len(records)
        assert pathlib.Path(rack["log"]).is_file()
    runs_table = history.query(hist, "SELECT run_id, status, records, racks FROM runs ORDER BY run_id")
    assert list(runs_table["run_id"]) == [r.name for r in runs]
    assert set(runs_table["status"]) == {"finished"} and set(runs_table["racks"]) == {1}
    assert sorted(out["history_ingest"]["runs_added"]) == [r.name for r in runs]
    assert out["regressions"] == [] and out["drain"] == []   # the first night: nothing to regress from

    # The next night, r1 alone: its host 4 times slower, and one GPU's GEMM wrong.
    proc = run_sweep(env, sweep_command(files, tree, hist, "--rack", "r1", "--run-arg=--slow-host",
                                        "--run-arg=r1n1=4", "--run-arg=--fault", "--run-arg=gemm:1:wrong"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    night = summary_of(tree, proc.stdout)
    (r1,) = night["racks"]
    assert r1["rack"] == "r1" and r1["status"] == "fail" and r1["verdicts"]["fail"] >= 1
    assert len(runs_in(tree)) == 3
    assert night["regressions"] and {g["host"] for g in night["regressions"]} == {"r1n1"}
    assert all(g["drop"] > 0.05 and g["old_runs"] == 1 for g in night["regressions"])
    (drain,) = night["drain"]
    assert drain["host"] == "r1n1" and drain["rack"] == "r1"
    assert {"check": "gemm", "verdict": "fail"}.items() <= drain["evidence"][0].items()
    assert "hosts to drain: 1" in proc.stdout and "r1n1 (r1): fail gemm" in proc.stdout
    assert history.query(hist, "SELECT count(*) AS n FROM runs")["n"][0] == 3


def test_a_rack_killed_midrun_is_reported_died_and_the_other_is_whole(cluster, tmp_path):
    env, files = cluster
    tree, hist = tmp_path / "results", tmp_path / "history"
    sweep = subprocess.Popen(sweep_command(files, tree, hist), env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        # r2's job, once its run has its first whole record (every rank is inside MPI, mid-suite).
        deadline = time.monotonic() + 300
        job, victim = None, None
        while time.monotonic() < deadline and victim is None:
            time.sleep(0.2)
            queue = subprocess.run(["squeue", "-h", "-n", "rackqual-nightly-r2", "-o", "%i %T"], env=env,
                                   capture_output=True, text=True, timeout=60).stdout.split()
            if len(queue) == 2 and queue[1] == "RUNNING":
                job = queue[0]
            for run in runs_in(tree) if job and tree.exists() else []:
                manifest = json.loads((run / "manifest.json").read_text()) if (run / "manifest.json").exists() else {}
                records = run / "records.jsonl"
                if manifest.get("hosts") == ["r2n1"] and records.exists() and records.stat().st_size:
                    victim = run
        assert victim is not None, "r2's run never wrote a record"
        time.sleep(random.uniform(0.0, 1.0))   # a random point of the run
        assert json.loads((victim / "manifest.json").read_text())["status"] == "running"
        subprocess.run(["scancel", "--signal=KILL", job], env=env, check=True, timeout=60)
        stdout, stderr = sweep.communicate(timeout=900)
    finally:
        if sweep.poll() is None:
            sweep.kill()
            sweep.wait()
    assert sweep.returncode == 3, stdout + stderr
    out = summary_of(tree, stdout)
    r1, r2 = out["racks"]
    # r1 ran on, whole: its run finished, every record valid and passed, all of it in the history.
    whole = tree / r1["run_id"]
    assert r1["status"] == "pass" and json.loads((whole / "manifest.json").read_text())["status"] == "finished"
    records = records_of(whole)
    assert len(records) == r1["records"] and all(r["verdict"] == "pass" and r["run_id"] == whole.name for r in records)
    assert {r["check"] for r in records} == {"gemm", "hbm-triad", "allreduce-node", "step", "gemm-late"}
    # r2 died: its run never finished, what it wrote is whole JSON and in the history as incomplete.
    assert r2["status"] == "died" and r2["run_id"] == victim.name and "never finished" in r2["reason"]
    assert json.loads((victim / "manifest.json").read_text())["status"] == "running"
    killed = records_of(victim)
    assert 1 <= len(killed) == r2["records"] and all(r["run_id"] == victim.name for r in killed)
    assert {r["check"] for r in killed} < {r["check"] for r in records}
    runs = history.query(hist, "SELECT run_id, status, records FROM runs").set_index("run_id")
    assert runs.loc[whole.name, "status"] == "finished" and runs.loc[whole.name, "records"] == len(records)
    assert runs.loc[victim.name, "status"] == "incomplete" and runs.loc[victim.name, "records"] == len(killed)
    assert out["history_ingest"]["incomplete"] == [victim.name] and out["exit_code"] == 3
    assert "r2           died" in stdout


def test_bad_input_and_a_refused_job_exit_2(cluster, tmp_path):
    env, files = cluster
    tree, hist = tmp_path / "results", tmp_path / "history"
    proc = run_sweep(env, sweep_command(files, tree, hist, "--rack", "r9"))
    assert proc.returncode == 2 and "no rack named r9" in proc.stderr and not tree.exists()
    bad = tmp_path / "bad.yaml"
    bad.write_text("racks:\n  - name: r1\n")
    proc = run_sweep(env, [BIN, "sweep", "--inventory", str(bad), "--results", str(tree), "--history", str(hist)])
    assert proc.returncode == 2 and proc.stderr.startswith(f"{bad}:") and len(proc.stderr.splitlines()) == 1
    proc = run_sweep(env, sweep_command(files, tree, hist, "--partition", "no-such-partition"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    out = summary_of(tree, proc.stdout)
    assert [r["status"] for r in out["racks"]] == ["not_assessed", "not_assessed"]
    assert all("sbatch refused" in r["reason"] and r["job_id"] is None for r in out["racks"])
    assert runs_in(tree) == [] and out["history_ingest"]["runs_added"] == []
