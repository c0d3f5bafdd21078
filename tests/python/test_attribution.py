"""Step-time attribution on real runs: the prediction is the step's work (rackqual._core.step_work)
over the rates the same run measured on the same GPUs, the gap's parts add up to it, a slowed host
is predicted slower from its own GPUs' figures, and what was not measured is said, not guessed."""
from __future__ import annotations

import json
import math
import pathlib

import pytest

import rackqual
from rackqual import attribution
from conftest import run_suite

# A GEMM only in fp64 for an fp32 step, and no memory benchmark: each step runs on one GPU.
WITHOUT = """\
name: without
platform: host
defaults: {repetitions: 3, min_time: 0.02s, deadline: 120s}
checks:
  - id: gemm64
    kind: gemm
    scope: gpu
    params: {m: 128, n: 128, k: 128, dtype: fp64}
  - id: step
    kind: transformer_step
    scope: gpu
    params: {hidden: 64, heads: 4, seq: 32, micro_batch: 2, layers: 1, vocab: 256, dtype: fp32}
"""


def _records(tree: pathlib.Path) -> list[dict]:
    return [json.loads(line) for f in sorted(tree.rglob("records.jsonl")) for line in f.read_text().splitlines()]


def _one(records: list[dict], **match) -> dict:
    (found,) = [r for r in records if all(r.get(k) == v for k, v in match.items())]
    return found


def test_the_prediction_is_the_steps_work_over_its_own_gpus_rates(results):
    from rackqual import _core
    table = attribution.attribute(rackqual.load(results))
    records = _records(results)
    steps = [r for r in records if r["kind"] == "transformer_step" and r["metric"] == "step_time_s"]
    assert len(steps) == 4 and len(table) == 4   # two runs, a step per node
    for step in steps:
        (row,) = table[(table["run_id"] == step["run_id"]) & (table["group"] == step["group"])].itertuples()
        run = [r for r in records if r["run_id"] == step["run_id"]]
        ranks = sorted(int(k) for k in step["arrival"]["late_s"])
        assert row.ranks == len(ranks) == 2

        work = _core.step_work(step["params"], 2)
        # The C++ kind's own FLOP count, as its model_tflops figure states it.
        model = _one(run, check=step["check"], group=step["group"], metric="model_tflops")["value"]
        assert work["flops"] == pytest.approx(model * 1e12 * step["value"], rel=1e-6)
        assert row.flops == work["flops"] and row.memory_bytes == work["memory_bytes"]

        gemm = min(r["value"] for r in run if r["metric"] == "tflops" and r["rank"] in ranks)
        hbm = min(r["value"] for r in run if r["metric"] == "gbps" and r["rank"] in ranks)
        reduce = [r for r in run if r["kind"] == "allreduce" and r["metric"] == "busbw_gbps"]
        # The nearest measured message size to the gradient bytes, in log size (the larger on a tie).
        nearest = min(reduce, key=lambda r: (abs(math.log(r["params"]["sizes"][0] / work["allreduce_bytes"])),
                                             -r["params"]["sizes"][0]))
        assert row.gemm_tflops == gemm and row.hbm_gbps == hbm and row.busbw_gbps == nearest["value"]
        assert row.busbw_bytes == nearest["params"]["sizes"][0]
        assert row.compute_s == pytest.approx(work["flops"] / (gemm * 1e12))
        assert row.memory_s == pytest.approx(work["memory_bytes"] / (hbm * 1e9))
        assert row.comm_s == pytest.approx(work["allreduce_bytes"] * 2 * (2 - 1) / 2 / (nearest["value"] * 1e9))
        assert row.predicted_s == pytest.approx(row.compute_s + row.memory_s + row.comm_s)

        phases = {p: _one(run, check=step["check"], group=step["group"], metric=p)["value"] for p in attribution.PHASES}
        assert row.measured_s == step["value"]
        assert row.gap_s == pytest.approx(step["value"] - row.predicted_s)
        parts = [getattr(row, f"gap_{c}_s") for c in attribution.COMPONENTS]
        assert all(math.isfinite(p) for p in parts) and sum(parts) == pytest.approx(row.gap_s)
        assert row.gap_unexplained_s == pytest.approx(step["value"] - sum(phases.values()), abs=1e-12)
        late = step["arrival"]["latest_late_s"] / step["timing"]["launches_per_batch"]
        assert row.straggle_s == pytest.approx(late)
        assert 0 <= row.gap_straggling_s <= max(0.0, phases["allreduce_s"] - row.comm_s) + 1e-15
        assert row.gap_straggling_s + row.gap_communication_s == pytest.approx(phases["allreduce_s"] - row.comm_s)
        in_phases = phases["forward_s"] + phases["backward_s"] + phases["optimizer_s"]
        assert row.gap_compute_s + row.gap_memory_s == pytest.approx(in_phases - row.compute_s - row.memory_s)
        assert row.gap_compute_s / row.gap_memory_s == pytest.approx(row.compute_s / row.memory_s)
        assert row.note == ""
        line = attribution.explain(table.loc[row.Index])
        assert f"{step['group']} (2 ranks): measured {step['value'] * 1e3:.3g} ms" in line and "gap" in line


def test_a_slowed_host_is_predicted_slower_from_its_own_gpus(suite_file, tmp_path):
    run = run_suite(suite_file, tmp_path, "--slow-host", "r0-h1=6")
    table = attribution.attribute(rackqual.load(run)).set_index("group")
    fast, slow = table.loc["r0-h0"], table.loc["r0-h1"]
    assert "on r0-h1:" in slow["gemm_source"] and "on r0-h0:" in fast["gemm_source"]
    assert slow["compute_s"] > 2 * fast["compute_s"] and slow["memory_s"] > 2 * fast["memory_s"]
    assert slow["measured_s"] > fast["measured_s"] and slow["predicted_s"] > fast["predicted_s"]


def test_what_was_not_measured_is_said_not_guessed(tmp_path):
    suite = tmp_path / "without.yaml"
    suite.write_text(WITHOUT)
    run = run_suite(suite, tmp_path / "out", ranks=2)
    table = attribution.attribute(rackqual.load(run))
    assert len(table) == 2
    for row in table.itertuples():
        assert row.ranks == 1 and row.comm_s == 0 and row.straggle_s == 0
        assert row.gemm_source.startswith("gemm fp64 (no fp32 gemm) on ")
        assert math.isnan(row.memory_s) and math.isnan(row.predicted_s) and math.isnan(row.gap_s)
        assert "memory not predicted: no hbm measured in the run" in row.note
        assert math.isnan(row.gap_unexplained_s) and math.isnan(row.gap_compute_s)
        assert row.compute_s == pytest.approx(row.flops / (row.gemm_tflops * 1e12))
    assert "not predicted (memory not predicted" in attribution.explain(table.iloc[0])


def test_records_without_a_step_give_an_empty_table(results):
    df = rackqual.load(results)
    table = attribution.attribute(df[df["kind"] != "transformer_step"])
    assert table.empty and "gap_straggling_s" in table.columns
