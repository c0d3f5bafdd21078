"""rackqual._core: the harness the CLI is built from, seen from Python."""
import json
import math

import pytest

import rackqual
from rackqual import _core
from conftest import ROOT, rackqual as cli


def test_kinds_match_the_cli_listing():
    kinds = {k["name"]: k for k in rackqual.kinds()}
    assert {"gemm", "hbm", "allreduce", "p2p", "transformer_step"} <= set(kinds)
    listing = cli("list").stdout
    for name, kind in kinds.items():
        assert f"{name}: {kind['help']}" in listing
        for metric in kind["metrics"]:
            assert metric["better"] in ("higher", "lower")
    gemm_params = {p["name"]: p for p in kinds["gemm"]["params"]}
    assert "fp32" in gemm_params["dtype"]["choices"]


def test_a_suite_loads_with_its_points_and_bounds():
    suite = rackqual.load_suite(str(ROOT / "suites" / "smoke.yaml"))
    assert suite["name"] == "smoke" and suite["platform"] == "host"
    checks = {c["id"]: c for c in suite["checks"]}
    reduce = checks["allreduce-node"]
    assert [p["params"]["sizes"] for p in reduce["points"]] == [[65536], [4194304]]
    assert reduce["points"][1]["bounds"]["busbw_gbps"]["min"] == 0.05
    assert "busbw_gbps" not in reduce["points"][0]["bounds"]   # the criterion is `at: 4MiB`


def test_a_bad_suite_is_an_input_error_naming_file_line_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\nplatform: auto\nchecks:\n  - id: g\n    kind: gemm\n    scope: gpu\n    params: {m: -4}\n")
    with pytest.raises(rackqual.InputError) as error:
        rackqual.load_suite(str(path))
    assert str(error.value) == f"{path}:7: checks[g].params.m: must be at least 1, got -4"


def test_step_work_counts_the_model_the_kind_trains():
    params = {"hidden": 64, "heads": 4, "seq": 32, "micro_batch": 2, "layers": 1, "vocab": 256, "dtype": "fp32"}
    alone, four = _core.step_work(params, 1), _core.step_work(params, 4)
    assert alone["allreduce_bytes"] == 0
    assert four["allreduce_bytes"] == 4 * four["parameters"]   # fp32 gradients of every parameter
    # 6 FLOPs per matmul parameter and token, plus attention: 12 * layers * hidden * seq per token.
    tokens, matmul = 2 * 32, 12 * 64 * 64 + 64 * 256
    assert four["flops"] == pytest.approx(tokens * (6 * matmul + 12 * 64 * 32))
    assert four["memory_bytes"] > 35 * four["parameters"]
    bf16 = _core.step_work({**params, "grad_dtype": "bf16"}, 4)
    assert bf16["allreduce_bytes"] == 2 * bf16["parameters"]


def test_a_suite_runs_in_process_on_one_rank(tmp_path):
    suite = tmp_path / "one.yaml"
    suite.write_text("name: one\nplatform: auto\ndefaults: {repetitions: 3, min_time: 0.01s}\nchecks:\n"
                     "  - id: gemm\n    kind: gemm\n    scope: gpu\n    params: {m: 128, n: 128, k: 128, dtype: fp32}\n"
                     "    criteria:\n      tflops: {min: 0.0001}\n")
    df = rackqual.run(suite, out=tmp_path / "out", backend="host")
    assert df.attrs["exit_code"] == 0
    (row,) = df.itertuples()
    assert row.check == "gemm" and row.verdict == "pass" and row.value > 0
    assert json.loads((tmp_path / "out" / df.attrs["run"].split("/")[-1] / "manifest.json").read_text())["suite"]["path"] == str(suite)

    failed = rackqual.run(suite, out=tmp_path / "out", backend="host", faults=["gemm:0:wrong"])
    assert failed.attrs["exit_code"] == 1
    assert list(failed["verdict"]) == ["fail"] and "incorrect result" in failed["reason"][0]
    assert not math.isnan(failed["value"][0])


def test_element_types_come_from_the_harness():
    types = {t["name"]: t for t in _core.element_types()}
    # The kinds' dtype choices are all element types the harness knows.
    for kind in _core.kinds():
        for p in kind["params"]:
            if p["name"] in ("dtype", "grad_dtype"):
                assert set(p["choices"]) <= set(types), (kind["name"], p["choices"])
    assert types["bf16"]["bytes"] == 2 and types["bf16"]["nccl_name"] == "ncclBfloat16"
    assert types["fp16"]["numpy_name"] == "float16" and not types["int32"]["floating"]
    assert _core.DTYPES_BY_PRECISION == ("fp64", "fp32", "tf32", "fp16", "bf16", "fp8")
    from rackqual import attribution
    assert attribution.DTYPE_ORDER == _core.DTYPES_BY_PRECISION
