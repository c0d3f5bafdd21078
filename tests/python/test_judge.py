"""The Python path and the CLI give the same verdicts for the same records."""
import json

import rackqual
from conftest import rackqual as cli, run_suite


def test_records_judged_again_keep_the_verdicts_the_run_gave(results, suite_file):
    for records in sorted(results.rglob("records.jsonl")):
        run = rackqual.load(records)
        again = rackqual.judge(records, suite_file)
        assert list(again["verdict"]) == list(run["verdict"])
        assert list(again["reason"]) == list(run["reason"])


def test_python_and_cli_judge_alike_by_a_stricter_suite(results, suite_file, tmp_path):
    # Thresholds between the figures measured: some records pass, some fail, by both paths.
    records = sorted(results.rglob("records.jsonl"))[0]
    run = rackqual.load(records)
    gemm = sorted(run[run["check"] == "gemm"]["value"])
    step = sorted(run[run["metric"] == "step_time_s"]["value"])
    strict = tmp_path / "strict.yaml"
    strict.write_text(suite_file.read_text()
                      .replace("tflops: {min: 0.001, min_fraction_of_group_median: 0.2}", f"tflops: {{min: {(gemm[1] + gemm[2]) / 2}}}")
                      .replace("step_time_s: {max: 30}", f"step_time_s: {{max: {(step[0] + step[1]) / 2}}}"))
    python = rackqual.judge(records, strict)
    proc = cli("judge", str(records), "--suite", str(strict))
    assert proc.returncode == 1, proc.stderr
    from_cli = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["verdict"] for r in from_cli] == list(python["verdict"])
    assert [r["reason"] for r in from_cli] == list(python["reason"])
    gemm_verdicts = python[python["check"] == "gemm"]["verdict"].value_counts()
    assert gemm_verdicts["fail"] == 2 and gemm_verdicts["pass"] == 2
    assert (python[python["metric"] == "step_time_s"]["verdict"] == "fail").sum() == 1


def test_a_wrong_result_fails_by_both_paths(suite_file, tmp_path):
    folder = run_suite(suite_file, tmp_path / "out", "--fault", "gemm:1:wrong")
    records = folder / "records.jsonl"
    python = rackqual.judge(records, suite_file)
    from_cli = [json.loads(line) for line in cli("judge", str(records), "--suite", str(suite_file)).stdout.splitlines()]
    assert [r["verdict"] for r in from_cli] == list(python["verdict"]) == list(rackqual.load(records)["verdict"])
    failed = python[python["verdict"] == "fail"]
    assert list(failed["rank"]) == [1] and "incorrect result" in failed["reason"].iloc[0]


def test_judging_a_file_that_is_not_records_is_an_input_error(tmp_path, suite_file):
    bad = tmp_path / "records.jsonl"
    bad.write_text('{"schema": 1}\n')
    proc = cli("judge", str(bad), "--suite", str(suite_file))
    assert proc.returncode == 2 and proc.stderr.startswith(f"{bad}:1: record: not a rackqual record"), proc.stderr
    try:
        rackqual.judge(bad, suite_file)
    except rackqual.InputError as e:
        assert str(e).startswith(f"{bad}:1: record:")
    else:
        raise AssertionError("no InputError")
