"""The HTML report and the console summary, on real runs: clean ones, one with a wrong GEMM, one
whose slowed host isolation names as the culprit, and record files with damaged lines; and one rack
of GPUs with known figures, for the colours. The report is rendered by headless Chromium (no
network), which must show no console error and no empty plot, and must draw every GPU in the
colour its verdict and its figure against the group median call for; its screenshots are kept
under $RACKQUAL_BUILD/test-artifacts/ (report.png, report-heatmap.png and the known rack's)."""
from __future__ import annotations

import base64
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
from conftest import BUILD, open_offline, rackqual as run_rackqual, run_suite

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


# One rack of nine GPUs whose figures put the group median at 100 TFLOP/s and 0.1 s (a step time,
# where lower is better): per check and host, the figures of GPU 0, 1 and 2.
KNOWN = {"gemm": {"r7-h0": [100, 100, 100], "r7-h1": [90, 110, 85], "r7-h2": [101, 75, 40]},
         "step": {"r7-h0": [0.1, 0.1, 0.1], "r7-h1": [0.11, 0.09, 0.1], "r7-h2": [0.1, 0.13, 0.3]}}
# Their criteria: the same points as the pytest suite's, bounds that give a warn and a fail.
KNOWN_SUITE = """\
name: colours
platform: host
checks:
  - id: gemm
    kind: gemm
    scope: gpu
    params: {m: 256, n: 256, k: 256, dtype: fp32}
    criteria:
      tflops: {min: 60, warn_below: 80}
  - id: step
    kind: transformer_step
    scope: gpu
    params: {hidden: 64, heads: 4, seq: 32, micro_batch: 2, layers: 1, vocab: 256, dtype: fp32}
    criteria:
      step_time_s: {max: 0.2, warn_above: 0.12}
"""
FAIL, WARN, ERROR = (report.VERDICT_COLOURS[v] for v in ("fail", "warn", "error"))
# (check, host, GPU) of the known rack: the verdict its criteria give and the colour it is drawn in.
EXPECTED = {
    ("gemm", "r7-h0", 0): ("pass", report.PASS_MEDIAN),    # at the median
    ("gemm", "r7-h1", 0): ("pass", report.PASS_WORSE),     # 10 % under it: the scale's worse end
    ("gemm", "r7-h1", 1): ("pass", report.PASS_BETTER),    # 10 % over it: the better end
    ("gemm", "r7-h1", 2): ("pass", report.PASS_WORSE),     # 15 % under it: clamped to the end
    ("gemm", "r7-h2", 1): ("warn", WARN),
    ("gemm", "r7-h2", 2): ("fail", FAIL),
    ("step", "r7-h0", 0): ("pass", report.PASS_MEDIAN),
    ("step", "r7-h1", 0): ("pass", report.PASS_WORSE),     # 10 % slower where lower is better
    ("step", "r7-h1", 1): ("pass", report.PASS_BETTER),
    ("step", "r7-h2", 1): ("warn", WARN),
    ("step", "r7-h2", 2): ("fail", FAIL),
}


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


@pytest.fixture(scope="module")
def known(results, tmp_path_factory) -> pathlib.Path:
    """The report of the KNOWN rack: a real run's GEMM and step records given its hosts, serials and
    figures, then judged again by rackqual.judge with KNOWN_SUITE's criteria."""
    folder = tmp_path_factory.mktemp("known")
    records = [r for f in sorted(results.rglob("records.jsonl")) for r in _readable(f)]
    device = next(r for r in records if r["check"] == "gemm")["device"]
    lines = []
    for check, metric in (("gemm", "tflops"), ("step", "step_time_s")):
        model = next(r for r in records if r["check"] == check and r["metric"] == metric)
        for h, (host, figures) in enumerate(KNOWN[check].items()):
            for slot, value in enumerate(figures):
                lines.append({**model, "run_id": "known", "scope": "gpu", "rack": "r7", "host": host, "group": host,
                              "rank": 3 * h + slot, "device": {**device, "index": slot, "serial": f"SN-{host}-{slot}"},
                              "value": value, "stats": None, "arrival": None, "verdict": "pass", "reason": ""})
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (folder / "suite.yaml").write_text(KNOWN_SUITE)
    path = folder / "known.html"
    report.write(rackqual.judge(folder / "records.jsonl", folder / "suite.yaml"), path, title="rack r7")
    return path


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


# The traces as plotly.js decoded them: plotly 6 and later write numpy arrays as typed arrays
# ({dtype, bdata}), which only _fullData holds as arrays (of rows, for a heatmap).
GRAPHS = """() => [...document.querySelectorAll('.plotly-graph-div')].map(d => ({
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
    svg: d.querySelectorAll('svg.main-svg').length}))"""
# Every heatmap cell as plotly.js decoded it (its z, its hover fields) with its centre and half
# size in pixels from the heatmaps section's corner; and the colour axis of its figure.
CELLS = """() => {
    const section = document.querySelector('#heatmaps').getBoundingClientRect();
    return [...document.querySelectorAll('#heatmaps .plotly-graph-div')].flatMap(d => {
        const box = d.getBoundingClientRect(), axis = d._fullLayout.coloraxis;
        const scale = {cmin: axis.cmin, worse: axis.colorscale[0][1]};
        return d._fullData.flatMap(t => {
            const xa = d._fullLayout[t.xaxis.replace('x', 'xaxis')], ya = d._fullLayout[t.yaxis.replace('y', 'yaxis')];
            const half = a => Math.abs(a.c2p(1) - a.c2p(0)) / 2;
            return Array.from(t.z, r => Array.from(r)).flatMap((row, i) => row.map((z, j) => ({
                figure: d.id, z, custom: t.customdata[i][j], scale, w: half(xa), h: half(ya),
                x: box.left - section.left + xa._offset + xa.c2p(xa.d2c(t.x[j])),
                y: box.top - section.top + ya._offset + ya.c2p(ya.d2c(t.y[i]))})))
                .filter(c => c.z !== null && !Number.isNaN(c.z));
        });
    });
}"""
# The colour most of each cell's pixels have in a screenshot (its label covers few of them).
DRAWN = """async ([png, cells]) => {
    const image = new Image();
    image.src = 'data:image/png;base64,' + png;
    await image.decode();
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [image.width, image.height];
    const g = canvas.getContext('2d');
    g.drawImage(image, 0, 0);
    return cells.map(c => {
        const px = g.getImageData(Math.round(c.x - c.w + 4), Math.round(c.y - c.h + 4),
                                  Math.round(2 * c.w - 8), Math.round(2 * c.h - 8)).data;
        const counts = new Map();
        for (let k = 0; k < px.length; k += 4) {
            const rgb = (px[k] << 16) | (px[k + 1] << 8) | px[k + 2];
            counts.set(rgb, (counts.get(rgb) || 0) + 1);
        }
        const [rgb] = [...counts].reduce((a, b) => b[1] > a[1] ? b : a);
        return '#' + rgb.toString(16).padStart(6, '0');
    });
}"""
# Every point of the distributions as drawn: its figure and its fill.
POINTS = """() => [...document.querySelectorAll('#distributions .plotly-graph-div')].flatMap(d =>
    [...d.querySelectorAll('.point')].map(p => ({figure: d.id, x: p.__data__.x, fill: getComputedStyle(p).fill})))"""

# The legend above the heatmaps, then each heatmap's colour bar, as the page shows them.
LEGEND = """() => [document.querySelector('#heatmaps-legend')?.innerText || '',
                   ...[...document.querySelectorAll('#heatmaps .colorbar')].map(c => c.textContent)]"""


def _hover(page, cells: list[dict], cell: tuple[str, str, int] | None) -> str:
    """The hover text of a GEMM heatmap cell, (figure, host, GPU), or of the first rack's middle."""
    if cell is None:
        page.locator("#heatmap-gemm-tflops .nsewdrag").first.hover()
        figure = "heatmap-gemm-tflops"
    else:
        figure = cell[0]
        c = next(c for c in cells if c["figure"] == figure and c["custom"][:2] == [cell[1], str(cell[2])])
        page.locator(f"#{figure}").scroll_into_view_if_needed()
        box = page.locator("#heatmaps").bounding_box()
        page.mouse.move(box["x"] + c["x"], box["y"] + c["y"])
    page.wait_for_timeout(300)
    return page.evaluate(f"() => document.querySelector('#{figure} .hoverlayer').textContent")


def _render(path: pathlib.Path, screenshot: pathlib.Path, hover: tuple[str, str, int] | None = None) -> dict:
    """Opens the report in headless Chromium; returns what the checks need: errors, requests, every
    plot's traces and drawn marks, every heatmap cell with the colour drawn there, every
    distribution point's fill, a heatmap's hover text, the legend and the verdict table's row
    classes. Keeps a screenshot of the page and one of its heatmaps (NAME-heatmap.png)."""
    seen: dict = {"errors": [], "requests": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            open_offline(page, path, seen)
            seen["graphs"] = page.evaluate(GRAPHS)
            seen["problem_rows"] = page.evaluate(
                "() => [...document.querySelectorAll('#problems tbody tr')].map(r => [r.className, r.innerText])")
            seen["cells"] = page.evaluate(CELLS)
            seen["points"] = page.evaluate(POINTS)
            seen["legend"] = page.evaluate(LEGEND)
            seen["hover"] = _hover(page, seen["cells"], hover)
            page.mouse.move(0, 0)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            shot = screenshot.with_name(f"{screenshot.stem}-heatmap.png")
            heatmaps = page.locator("#heatmaps").screenshot(path=str(shot))
            drawn = page.evaluate(DRAWN, [base64.b64encode(heatmaps).decode(), seen["cells"]])
            for cell, colour in zip(seen["cells"], drawn):
                cell["drawn"] = colour
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return seen


def _rgb(colour: str) -> tuple[int, ...]:
    """'#rrggbb' or 'rgb(r, g, b)' as its three channels."""
    if colour.startswith("#"):
        return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(int(v) for v in re.findall(r"\d+", colour)[:3])


def _distance(a: str, b: str) -> float:
    return sum((x - y) ** 2 for x, y in zip(_rgb(a), _rgb(b))) ** 0.5


def _pass_colour(z: float) -> str:
    """The pass scale's colour at z % (clamped), interpolated in RGB as plotly.js does."""
    t = (min(max(z, -report.PASS_SPAN), report.PASS_SPAN) + report.PASS_SPAN) / (2 * report.PASS_SPAN)
    (a, low), (b, high) = next((s, e) for s, e in zip(report.PASS_SCALE, report.PASS_SCALE[1:]) if s[0] <= t <= e[0])
    f = (t - a) / (b - a)
    return "#" + "".join(f"{round(x + f * (y - x)):02x}" for x, y in zip(_rgb(low), _rgb(high)))


@pytest.fixture(scope="module")
def rendered(written) -> dict:
    return _render(written[0], ARTIFACTS / "report.png")


@pytest.fixture(scope="module")
def rendered_known(known) -> dict:
    return _render(known, ARTIFACTS / "report-known.png", hover=("heatmap-gemm-tflops", "r7-h1", 0))


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
    assert (ARTIFACTS / "report-heatmap.png").stat().st_size > 10_000


def test_hovering_a_gpu_cell_shows_its_host_serial_and_figure(rendered):
    hover = rendered["hover"]
    assert re.search(r"r0-h\d GPU \d", hover), hover
    assert "serial" in hover and "TFLOP/s" in hover, hover
    assert "criterion tflops: {min: 0.001" in hover and re.search(r"verdict (pass|fail)", hover), hover
    assert re.search(r"[-+]\d+\.\d % against the group median \S+ TFLOP/s of \d+", hover), hover


def test_passing_gpus_are_drawn_on_the_pass_scale_never_in_a_verdict_colour(rendered):
    """On real runs: GPUs that pass with different figures are drawn where the pass scale puts their
    figure against the median, far from red, orange and purple; the slowed host's GPU in red."""
    cells = rendered["cells"]
    gemm = [c for c in cells if c["figure"] == "heatmap-gemm-tflops"]
    assert len({c["custom"][3] for c in gemm if c["custom"][4] == "pass"}) >= 2, gemm
    for c in cells:
        verdict = c["custom"][4]
        if verdict == "pass":
            assert _distance(c["drawn"], _pass_colour(c["z"])) < 8, c
            assert min(_distance(c["drawn"], colour) for colour in (FAIL, WARN, ERROR)) > 90, c
        else:
            assert _distance(c["drawn"], report.VERDICT_COLOURS[verdict]) < 8, c
    slowed = [c for c in gemm if c["custom"][0] == "r0-h1" and c["custom"][4] == "fail"]
    assert slowed and all(_distance(c["drawn"], FAIL) < 8 for c in slowed), gemm


def test_each_gpu_is_drawn_in_its_verdicts_colour_or_its_place_on_the_pass_scale(rendered_known):
    cells = {(c["figure"].split("-")[1], c["custom"][0], int(c["custom"][1])): c for c in rendered_known["cells"]}
    assert len(cells) == sum(len(f) for figures in KNOWN.values() for f in figures.values())
    for key, (verdict, colour) in EXPECTED.items():
        assert cells[key]["custom"][4] == verdict, cells[key]
        assert _distance(cells[key]["drawn"], colour) < 8, (key, cells[key]["drawn"], colour)
    # Two passes with different figures (100 and 101 TFLOP/s): calm, nowhere near red.
    for key in (("gemm", "r7-h0", 0), ("gemm", "r7-h2", 0)):
        assert cells[key]["custom"][4] == "pass" and _distance(cells[key]["drawn"], FAIL) > 150, cells[key]
    # No pass, at either end of the scale or between, in a colour that means warn, fail or error.
    for c in cells.values():
        if c["custom"][4] == "pass":
            assert min(_distance(c["drawn"], colour) for colour in (FAIL, WARN, ERROR)) > 90, c
    # 10 % under the median sits at the scale's end, as plotly.js decoded the figure and its axis.
    end = cells[("gemm", "r7-h1", 0)]
    assert end["z"] == pytest.approx(end["scale"]["cmin"]) and end["scale"]["cmin"] == -report.PASS_SPAN, end
    assert _distance(end["drawn"], end["scale"]["worse"]) < 8, end


def test_hovering_a_pass_shows_its_criterion_and_its_distance_from_the_median(rendered_known):
    hover = rendered_known["hover"]
    for part in ("r7-h1 GPU 0", "serial SN-r7-h1-0", "tflops 90 TFLOP/s", "verdict pass",
                 "-10.0 % against the group median 100 TFLOP/s of 9 (worse than the median)",
                 "criterion tflops: {min: 60, warn_below: 80}"):
        assert part in hover, hover


def test_the_legend_says_what_the_colours_mean(rendered_known, known):
    legend, *bars = rendered_known["legend"]
    assert "10 % worse" in legend and "10 % better" in legend, legend
    assert "The group median is the median of the same check, metric and parameter point in the same run" in legend
    assert len(bars) == 2, bars
    for bar in bars:
        for part in ("pass: against", "the group median", "10 % worse", "10 % better", "warn", "fail", "error", "skip"):
            assert part in bar, bar
    assert 'id="distributions-legend"' in _body(known)


def test_distributions_draw_a_pass_by_the_scale_and_the_rest_by_verdict(rendered_known):
    points = [(p["x"], p["fill"]) for p in rendered_known["points"] if p["figure"] == "dist-gemm-tflops"]
    assert sorted(x for x, _ in points) == sorted(v for f in KNOWN["gemm"].values() for v in f)
    want = {100: report.PASS_MEDIAN, 90: report.PASS_WORSE, 85: report.PASS_WORSE, 110: report.PASS_BETTER,
            75: WARN, 40: FAIL}
    for x, fill in points:
        if x in want:
            assert _distance(fill, want[x]) < 8, (x, fill)


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
