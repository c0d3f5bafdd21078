"""The HTML report and the console summary, on real runs: clean ones, one with a wrong GEMM, one
whose slowed host isolation names as the culprit, and record files with damaged lines. The report
is rendered by headless Chromium (no network), which must show no console error and no empty
plot; its screenshot is kept under $RACKQUAL_BUILD/test-artifacts/report.png."""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import pathlib
import re
import shutil

import pytest
from playwright.sync_api import sync_playwright

import rackqual
from rackqual import report
from conftest import BUILD, rackqual as run_rackqual, run_suite

ARTIFACTS = BUILD / "test-artifacts"

# The same GEMM as the pytest suite's (so a history of those runs is its baseline), and an
# all-reduce large enough to be bandwidth-bound, so that every subset isolation probes measures
# alike and a host slowed 20 times falls far under the floor.
ISOLATE = """\
name: isolate
platform: host
defaults: {repetitions: 3, min_time: 0.02s, deadline: 300s}
checks:
  - id: gemm
    kind: gemm
    scope: gpu
    params: {m: 256, n: 256, k: 256, dtype: fp32}
    criteria:
      tflops: {min: 0.001, min_fraction_of_group_median: 0.2}
  - id: cluster-reduce
    kind: allreduce
    scope: cluster
    params: {sizes: [16MiB]}
    criteria:
      busbw_gbps: {min: 0.07}
"""

# Lines no record file should hold, each of which the loader must skip and count.
DAMAGED = [b'{"run_id": "x", "check": "gemm", "metric": "tfl', b'{"hello": "a foreign JSON object"}',
           b'\xff\xfe not even text', b'[1, 2, 3]']
# Records the loader takes but no rackqual wrote: text where numbers go, a verdict of no known kind,
# a sweep size that is not a list, a criterion that is not one, a step without a figure or sane params.
ODD = [{"kind": "gemm", "check": "gemm", "scope": "gpu", "metric": "tflops", "value": "fast", "verdict": "maybe",
        "device": {"index": "zero"}, "host": "r9-h9", "rank": "x"},
       {"kind": "allreduce", "check": "allreduce-cluster", "scope": "cluster", "metric": "busbw_gbps", "value": 1.5,
        "verdict": "pass", "params": {"sizes": "lots"}, "group": "cluster", "criterion": "busbw_gbps: {min: abc}",
        "reason": "< min zzz"},
       {"kind": "transformer_step", "check": "step", "scope": "node", "group": "r0-h0", "metric": "step_time_s",
        "value": None, "verdict": "error", "params": {"hidden": -1}}]


def _run(suite: pathlib.Path, out: pathlib.Path, *args: str, ranks: int = 4) -> pathlib.Path:
    before = set(out.iterdir()) if out.exists() else set()
    proc = run_rackqual("run", str(suite), "--out", str(out), *args, ranks=ranks, timeout=600)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    (made,) = set(out.iterdir()) - before
    return made


@pytest.fixture(scope="module")
def troubled(tmp_path_factory, suite_file) -> tuple[pathlib.Path, pathlib.Path, int]:
    """A results tree of two failing runs: a wrong GEMM on rank 2 (its records file then damaged,
    and odd records added), and a host slowed 20 times that isolation names; with the damaged file
    and its first bad line."""
    out = tmp_path_factory.mktemp("troubled")
    wrong = run_suite(suite_file, out, "--fault", "gemm:2:wrong")
    isolate = tmp_path_factory.mktemp("isolate-suite") / "isolate.yaml"
    isolate.write_text(ISOLATE)
    _run(isolate, out, "--simulate", "1x4x1", "--slow-host", "r0-h1=20")
    records = wrong / "records.jsonl"
    first_bad = len(records.read_bytes().splitlines()) + 1
    run_id = json.loads(records.read_text().splitlines()[0])["run_id"]
    with open(records, "ab") as f:
        f.write(b"\n".join(DAMAGED) + b"\n")
        for odd in ODD:
            f.write(json.dumps({"schema": 1, "run_id": run_id, **odd}).encode() + b"\n")
    return out, records, first_bad


@pytest.fixture(scope="module")
def tree(tmp_path_factory, results, troubled) -> pathlib.Path:
    """The clean runs and the troubled ones in one results tree."""
    out = tmp_path_factory.mktemp("tree")
    for source in (results, troubled[0]):
        for run in source.iterdir():
            shutil.copytree(run, out / run.name)
    return out


@pytest.fixture(scope="module")
def written(tree, tmp_path_factory) -> tuple[pathlib.Path, str]:
    """The report of the whole tree, and what the command printed."""
    path = tmp_path_factory.mktemp("report") / "report.html"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = report.cli([str(tree), "-o", str(path)])
    assert code == 0, buffer.getvalue()
    return path, buffer.getvalue()


def _body(report_file: pathlib.Path) -> str:
    """The page's body, without the inline plotly.js (megabytes an assertion need not diff)."""
    page = report_file.read_text(encoding="utf-8")
    return page[page.index("<body>"):]


def _readable(records: pathlib.Path) -> list[dict]:
    """The records of a file, its damaged lines left out."""
    out = []
    for line in records.read_bytes().splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if isinstance(r, dict) and r.get("schema") == 1:
            out.append(r)
    return out


def _render(path: pathlib.Path, screenshot: pathlib.Path) -> dict:
    """Opens the report in headless Chromium with every request but the file refused; returns
    what the checks need: errors, requests, every plot's traces and drawn marks, a heatmap's
    hover text and the verdict table's row classes."""
    seen: dict = {"errors": [], "requests": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
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
            # The traces as plotly.js decoded them: plotly 6 and later write numpy arrays as typed
            # arrays ({dtype, bdata}), which only _fullData holds as arrays (of rows, for a heatmap).
            seen["graphs"] = page.evaluate("""() => [...document.querySelectorAll('.plotly-graph-div')].map(d => ({
                id: d.id,
                points: (d._fullData || []).map(t => {
                    const flat = a => Array.from(a).flatMap(r => r !== null && typeof r === 'object' ? Array.from(r) : [r]);
                    const z = t.z ? flat(t.z).filter(v => v !== null && !Number.isNaN(v)).length : null;
                    const xy = Array.from(t.x || t.y || []).length;
                    return z !== null ? z : xy;
                }),
                drawn: [...d.querySelectorAll('.cartesianlayer g.trace, .cartesianlayer g.hm')].map(g =>
                    [...g.querySelectorAll('path, image')].filter(e =>
                        (e.getAttribute('d') || e.getAttribute('href') || '').length > 4).length),
                svg: d.querySelectorAll('svg.main-svg').length}))""")
            seen["problem_rows"] = page.evaluate(
                "() => [...document.querySelectorAll('#problems tbody tr')].map(r => [r.className, r.innerText])")
            heat = page.locator("#heatmap-gemm-tflops .nsewdrag").first
            heat.hover()
            page.wait_for_timeout(300)
            seen["hover"] = page.evaluate("() => document.querySelector('#heatmap-gemm-tflops .hoverlayer').textContent")
            page.mouse.move(0, 0)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return seen


@pytest.fixture(scope="module")
def rendered(written) -> dict:
    return _render(written[0], ARTIFACTS / "report.png")


def test_the_report_renders_offline_without_errors_or_empty_plots(written, rendered):
    page = written[0].read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", page), "every script is inline"
    assert not re.search(r"<link[^>]*\bhref=", page), "no stylesheet or font to fetch"
    assert rendered["errors"] == []
    assert rendered["requests"] == [], "the report fetched something"
    ids = [g["id"] for g in rendered["graphs"]]
    for wanted in ("heatmap-gemm-tflops", "heatmap-hbm-triad-gbps", "dist-gemm-tflops", "dist-cluster-reduce-busbw-gbps",
                   "allreduce-busbw", "step-phases", "step-attribution"):
        assert wanted in ids, ids
    for g in rendered["graphs"]:
        assert g["svg"] > 0, g
        assert g["points"] and all(n > 0 for n in g["points"]), f"a trace without points: {g}"
        assert len(g["drawn"]) == len(g["points"]) and all(n > 0 for n in g["drawn"]), f"a trace not drawn: {g}"
    assert (ARTIFACTS / "report.png").stat().st_size > 50_000


def test_hovering_a_gpu_cell_shows_its_host_serial_and_figure(rendered):
    hover = rendered["hover"]
    assert re.search(r"r0-h\d GPU \d", hover), hover
    assert "serial" in hover and "TFLOP/s" in hover, hover


def test_culprits_come_first_then_failures(rendered, tree):
    rows = rendered["problem_rows"]
    classes = [c for c, _ in rows]
    order = {"culprit": 0, "fail": 1, "error": 2, "warn": 3}
    assert classes and classes[0] == "culprit", rows
    assert [order[c] for c in classes] == sorted(order[c] for c in classes), classes
    culprit = rows[0][1]
    assert "r0-h1" in culprit and "confirmed by probe" in culprit, culprit
    failed = [text for c, text in rows if c == "fail"]
    assert any("incorrect result" in t and "r0-h1 GPU 0" in t for t in failed), failed
    # Every culprit and every failed record of the results is listed, none twice.
    records = [r for f in tree.rglob("records.jsonl") for r in _readable(f)]
    culprits = [r for r in records if "culprit" in (r.get("isolation") or {})]
    failures = [r for r in records if r["verdict"] in ("fail", "error") and not r.get("isolation")]
    assert classes.count("culprit") == len(culprits) >= 1
    assert classes.count("fail") + classes.count("error") == len(failures) >= 3
    assert any("step" in t and "r0-h0" in t for c, t in rows if c == "error"), "the odd step record is listed"


def test_unreadable_lines_are_counted_and_located(written, troubled):
    page = _body(written[0])
    _, records, first_bad = troubled
    assert f"{len(DAMAGED)} line(s) of the record files could not be read" in page
    assert f"{records.parent.name}/{records.name}:{first_bad}" in page   # from the results root
    assert f"skipped {len(DAMAGED)} unreadable line(s)" in written[1]


def test_the_console_summary_names_culprits_before_failures(written, tree):
    out = written[1]
    with pytest.warns(UserWarning, match=f"skipped {len(DAMAGED)} line"):
        df = rackqual.load(tree)
    counts = df["verdict"].astype(str).value_counts()
    assert f"{counts['fail']} fail" in out and f"{counts['pass']} pass" in out
    assert "1 maybe" in out   # a verdict of no known kind is counted, not dropped
    assert out.index("culprits (") < out.index("failed (")
    assert re.search(r"culprit +cluster-reduce r0-h1: culprit: slow host r0-h1", out), out
    assert "step time:" in out and "predicted" in out
    assert out.rstrip().endswith(f"report: {written[0]}")


def test_a_clean_run_reads_as_passed(results, tmp_path, capsys):
    path = tmp_path / "clean.html"
    assert report.cli([str(results), "-o", str(path), "--title", "rack r0 bring-up"]) == 0
    page = _body(path)
    assert "Every record passed." in page and "<h1>rack r0 bring-up</h1>" in page
    assert "Every line of the record files was read." in page
    out = capsys.readouterr().out
    assert "nothing failed" in out and " 0 fail" in out


@pytest.mark.parametrize("case", ["missing", "empty", "no-folder", "bad-option", "only-damaged"])
def test_bad_input_exits_2_with_one_line(case, tmp_path, results, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    damaged = tmp_path / "damaged" / "records.jsonl"
    damaged.parent.mkdir()
    damaged.write_bytes(b"\n".join(DAMAGED) + b"\n")
    args, culprit = {
        "missing": ([str(tmp_path / "nowhere"), "-o", str(tmp_path / "r.html")], str(tmp_path / "nowhere")),
        "empty": ([str(empty), "-o", str(tmp_path / "r.html")], str(empty)),
        "no-folder": ([str(results), "-o", str(tmp_path / "no" / "r.html")], str(tmp_path / "no" / "r.html")),
        "bad-option": ([str(results), "--colour", "red"], "rackqual report"),
        "only-damaged": ([str(damaged), "-o", str(tmp_path / "r.html")], str(damaged)),
    }[case]
    assert report.cli(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(culprit + ": "), err
    assert not (tmp_path / "r.html").exists()


def test_regressions_against_a_history(results, troubled, tmp_path, capsys):
    """The slowed host's GEMM against its own past in the clean runs, when rackqual.fleet can compare."""
    path = tmp_path / "regressions.html"
    assert report.cli([str(troubled[0]), "-o", str(path), "--history", str(results)]) == 0
    page = _body(path)
    assert 'id="regressions"' in page
    try:
        compare = importlib.import_module("rackqual.fleet").compare
    except (ImportError, AttributeError):
        assert "regressions left out: rackqual.fleet.compare is not available" in page
        return
    with pytest.warns(UserWarning, match="skipped"):
        new = rackqual.load(troubled[0])
    found = compare(str(results), new)
    slowed = found[(found["check"] == "gemm") & (found["host"] == "r0-h1")]
    assert not slowed.empty, found
    table = page[page.index('id="regressions"'):]
    assert f"{len(found)} figure(s) regressed against {results}" in table
    assert "r0-h1" in table and "gemm" in table
