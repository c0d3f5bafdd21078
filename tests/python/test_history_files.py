"""Records files read straight into the history's columns (the compiled reader, history_files)
store what the data-frame path (rackqual.load, then history.to_table) stores, on real runs and on
records of every shape schema 1 allows."""
from __future__ import annotations

import json
import pathlib
import warnings

import pyarrow as pa
import pytest

import rackqual
from rackqual import _core, history, history_files


def plain(table: pa.Table) -> pa.Table:
    """Dictionary columns as text, chunks combined."""
    schema = pa.schema([(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type) for f in table.schema])
    return table.cast(schema).combine_chunks()


def by_frame(files: list[pathlib.Path]) -> pa.Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return history.to_table(rackqual.load(files[0]) if len(files) == 1 else
                                __import__("pandas").concat([rackqual.load(f) for f in files], ignore_index=True))


def by_files(files: list[pathlib.Path]) -> pa.Table:
    tables, _ = history_files.read(files, history.RECORDS)
    return pa.concat_tables(tables)


def assert_same(a: pa.Table, b: pa.Table) -> None:
    a, b = plain(a), plain(b)
    assert a.schema == b.schema and len(a) == len(b)
    for name in a.column_names:
        left, right = a.column(name).to_pylist(), b.column(name).to_pylist()
        wrong = [(i, x, y) for i, (x, y) in enumerate(zip(left, right)) if x != y]
        assert not wrong, f"{name}: {wrong[:3]}"


BASE = {"schema": 1, "run_id": "20250101T000000Z-0001", "suite": "edge", "check": "gemm", "kind": "gemm", "scope": "gpu",
        "backend": "host", "group": "n1", "rank": 0, "host": "n1", "rack": "r1", "metric": "tflops", "unit": "TFLOP/s",
        "better": "higher", "value": 1.5, "verdict": "pass", "reason": "", "time": "2025-01-01T00:00:01.250Z"}

# Every shape a field may take in schema 1: numbers at every magnitude, text that needs escaping,
# nested values, nulls, fields this version does not know.
EDGE = [
    {"params": {"m": 512, "big": 2.0 ** 60, "tiny": 1.25e-7, "small": 1e-6, "mid": 1500000000.5, "huge": 15000000000.5,
                "neg": -0.0, "frac": 0.30000000000000004, "sizes": [65536, 1048576], "dtype": "bf16", "on": True, "off": None}},
    {"reason": "caf\u00e9 \u2014 \U0001F680 \"quoted\" back\\slash\ttab\nnew\x01\x7f", "params": {"note": "caf\u00e9 \U0001F680 \x1f"}},
    {"params": {"json": "[1, 2]", "obj": "{\"a\": 1}", "notjson": "[broken", "nested": {"b": 2, "a": [1, {"c": None}]}}},
    {"device": {"index": 3, "name": "GPU \u00e9", "serial": "S1", "uuid": None, "pci": "0000:01:00.0"},
     "stats": {"n": 5, "median": 1.5, "min": 1.0, "max": 2.0, "cv": 0.01, "p10": 1.1, "p90": 1.9, "p95": 1.95, "mad": 0.1},
     "correct": {"ok": False, "detail": "3 of 64 outputs off", "worst": 0.5}},
    {"telemetry": {"avg_power_w": 680.0, "max_temp_c": 71.5, "throttle": "none"}, "timing": {"repetitions": 5},
     "arrival": {"late_ranks": [1, 3], "spread_us": 1234.5}, "isolation": {"round": 2, "probe": [0, 1]},
     "digests": [{"rank": 0, "digest": "ab12"}, {"rank": 1, "digest": "cd34"}]},
    {"future_field": "x", "future_object": {"z": 1, "a": "b", "n": None}, "future_number": 12.75, "future_list": [1, 2]},
    {"criterion": "tflops: {min: 0.5}", "rank": 7, "value": 1e22, "params": {}},
    {"telemetry": None, "stats": None, "device": None, "params": None},
    {"time": "2025-01-01T23:59:59.999999999Z", "run_id": "20250101T000000Z-0002"},
    {"time": "not a time"},    # no time: the data-frame path drops the row, and so must this
    {"rack": 17, "host": 3.5, "group": True},   # text fields given as other JSON
    {"metric": None, "check": "qualify", "scope": "rack", "value": None, "host": None},   # a verdict without a figure
]


def edge_file(tmp_path: pathlib.Path) -> pathlib.Path:
    lines = [json.dumps(dict(BASE, **extra)) for extra in EDGE]
    lines.insert(3, '{"schema": 1, "run_id": "x", "check": "c"}')   # no verdict: not a record
    lines.insert(5, "{not json")
    lines.insert(6, "")
    path = tmp_path / "edge" / "records.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n" + json.dumps(BASE)[:40])   # and a line cut short
    return path


def test_edge_records_stored_as_the_frame_path_stores_them(tmp_path):
    path = edge_file(tmp_path)
    assert_same(by_frame([path]), by_files([path]))
    table = plain(by_files([path]))
    params = table.column("params").to_pylist()
    assert params[0] == ('{"big":1.152921504606847e+18,"dtype":"bf16","frac":0.30000000000000004,"huge":1.50000000005e+10,'
                         '"m":512,"mid":1500000000.5,"neg":0,"on":true,"sizes":[65536,1048576],"small":0.000001,"tiny":1.25e-7}')
    assert params[1] == '{"note":"caf\\u00e9 \\ud83d\\ude80 \\u001f"}'
    assert params[2] == '{"json":[1, 2],"nested":{"b":2,"a":[1,{"c":null}]},"notjson":"[broken","obj":{"a": 1}}'
    assert table.column("extra").to_pylist()[3] == '{"correct.worst":0.5,"device.pci":"0000:01:00.0","stats.mad":0.1}'
    assert table.column("extra").to_pylist()[5] == '{"future_field":"x","future_list":[1,2],"future_number":12.75,"future_object.a":"b","future_object.z":1}'
    assert len(table) == len(EDGE) - 1   # the row without a time


def test_skipped_lines_are_named(tmp_path):
    path = edge_file(tmp_path)
    _, skipped = history_files.read([path, tmp_path / "missing.jsonl"], history.RECORDS)
    reasons = {(pathlib.Path(f).name, line): why for f, line, why in skipped}
    assert reasons[("records.jsonl", 4)] == 'not a rackqual record: no string "verdict"'
    assert reasons[("records.jsonl", 6)].startswith("malformed JSON")
    assert reasons[("records.jsonl", len(EDGE) + 4)] == "truncated: the file ends mid-record"
    assert reasons[("missing.jsonl", 0)] == "cannot be read"
    assert len(skipped) == 4


def test_real_runs_stored_as_the_frame_path_stores_them(results):
    files = rackqual.records.record_files(results)
    assert_same(by_frame(files), by_files(files))


def test_shares_read_side_by_side_give_every_record_once_in_order(results, tmp_path):
    files = rackqual.records.record_files(results) + [edge_file(tmp_path)]
    one = _core.read_history([str(f) for f in files], 1)
    three = _core.read_history([str(f) for f in files], 3)
    assert len(one) == 1 and 1 < len(three) <= 3   # shares of about equal bytes: files are not split
    assert sum(rows for rows, _, _ in three) == one[0][0]
    tables = [history_files.share_table(share, history.RECORDS)[0] for share in three]
    assert_same(history_files.share_table(one[0], history.RECORDS)[0], pa.concat_tables(tables))


def test_ingest_from_files_is_the_ingest_of_the_loaded_frame(results, tmp_path):
    history.ingest(results, tmp_path / "from-files")
    history.ingest(rackqual.load(results), tmp_path / "from-frame")
    sql = "SELECT * EXCLUDE (source) FROM records ORDER BY run_id, \"check\", metric, rank, params, time"
    a, b = history.query(tmp_path / "from-files", sql), history.query(tmp_path / "from-frame", sql)
    assert len(a) == len(rackqual.load(results)) and a.equals(b)


def test_records_without_a_sort_key_are_ingested_and_sorted_last(tmp_path):
    path = edge_file(tmp_path)
    summary = history.ingest(path, tmp_path / "history")
    assert summary.records == len(EDGE) - 1
    rows = history.query(tmp_path / "history", "SELECT metric, host FROM records WHERE \"check\" = 'qualify'")
    assert len(rows) == 1 and rows["metric"].isna().all() and rows["host"].isna().all()
    table = plain(history_files.sorted_table(history_files.read([path], history.RECORDS)[0]))
    hosts = table.column("host").to_pylist()
    assert hosts[-1] is None and None not in hosts[:-1]


@pytest.mark.parametrize("rows", [1, 3])
def test_a_sorted_table_is_ordered_by_date_rack_host_check_metric(results, rows):
    tables, _ = history_files.read(rackqual.records.record_files(results), history.RECORDS)
    table = plain(history_files.sorted_table(tables * rows))
    keys = list(zip(*(table.column(k).to_pylist() for k in history_files.SORT_KEYS)))
    assert keys == sorted(keys) and len(keys) == rows * sum(len(t) for t in tables)
