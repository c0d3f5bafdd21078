"""rackqual.load: real runs of the host backend into one tidy DataFrame; damaged files never crash it."""
import json
import shutil

import pandas as pd
import pytest

import rackqual


def records_of(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_tree_of_runs_is_one_frame_with_a_row_per_record(results):
    files = sorted(results.rglob("records.jsonl"))
    assert len(files) == 2
    expected = [r for f in files for r in records_of(f)]
    df = rackqual.load(results)
    assert len(df) == len(expected) and df.attrs["skipped"] == []
    assert set(df["run_id"]) == {r["run_id"] for r in expected}
    # A run folder and a records file load alone.
    assert len(rackqual.load(files[0].parent)) == len(records_of(files[0]))
    assert len(rackqual.load(files[1])) == len(records_of(files[1]))


def test_columns_are_flattened_and_typed(results):
    df = rackqual.load(results)
    for name in ("host", "rack", "check", "metric", "verdict", "kind", "device.name"):
        assert isinstance(df[name].dtype, pd.CategoricalDtype), name
    assert str(df["time"].dtype) == "datetime64[ns, UTC]"
    assert df["rank"].dtype == "int64" and df["value"].dtype == "float64"
    assert str(df["correct.ok"].dtype) == "boolean"
    gemm = df[df["check"] == "gemm"]
    assert set(gemm["params.m"]) == {256.0} and set(gemm["params.dtype"]) == {"fp32"}
    assert (gemm["stats.median"] == gemm["value"]).all()
    assert set(gemm["host"]) == {"r0-h0", "r0-h1"} and set(gemm["device.index"]) == {0.0, 1.0}
    reduce = df[(df["check"] == "allreduce-cluster") & (df["metric"] == "busbw_gbps")]
    assert set(reduce["params.sizes"]) == {"[65536]", "[1048576]"}   # arrays stay JSON text
    assert reduce["device.name"].isna().all()                      # group figures have no device

    # Every value the file holds, as the frame holds it.
    first = records_of(sorted(results.rglob("records.jsonl"))[0])[0]
    row = df.iloc[0]
    assert row["time"] == pd.Timestamp(first["time"])
    assert row["reason"] == first["reason"] and row["value"] == first["value"]
    assert row["stats.cv"] == first["stats"]["cv"] and row["timing.repetitions"] == first["timing"]["repetitions"]


def test_damaged_and_foreign_lines_are_skipped_counted_and_named(results, tmp_path):
    run = sorted(p for p in results.iterdir())[0]
    damaged = tmp_path / "damaged" / run.name
    shutil.copytree(run, damaged)
    path = damaged / "records.jsonl"
    lines = path.read_text().splitlines()
    good = len(lines)
    lines.insert(1, "{this is not json")
    lines.insert(3, json.dumps({"name": "a foreign object", "value": 3}))
    lines.insert(5, json.dumps([1, 2, 3]))
    lines.insert(7, "")
    text = "\n".join(lines) + "\n" + lines[0][: len(lines[0]) // 2]   # killed mid-write
    path.write_text(text)

    with pytest.warns(UserWarning, match="skipped 4 line"):
        df = rackqual.load(damaged)
    assert len(df) == good
    skipped = df.attrs["skipped"]
    assert [(s["line"], s["reason"].split(":")[0]) for s in skipped] == [
        (2, "malformed JSON"), (4, "not a rackqual record"), (6, "not a rackqual record"), (len(lines) + 1, "truncated")]
    assert all(s["file"] == str(path) for s in skipped)


def test_a_column_whose_type_changes_keeps_every_value_as_text(tmp_path):
    base = {"schema": 1, "run_id": "r", "check": "c", "verdict": "pass", "time": "2026-11-26T01:02:03.5Z"}
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps({**base, "params": {"x": v}}) for v in (4, "big", True, None, [1])) + "\n")
    df = rackqual.load(path)
    assert list(df["params.x"].astype(object).where(df["params.x"].notna(), None)) == ["4", "big", "true", None, "[1]"]
    assert df["time"][0] == pd.Timestamp("2026-11-26T01:02:03.5Z")


def test_a_missing_path_is_an_error_not_an_empty_frame(tmp_path):
    with pytest.raises(FileNotFoundError):
        rackqual.load(tmp_path / "nothing-here")
