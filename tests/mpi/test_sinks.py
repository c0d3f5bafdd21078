"""JUnit XML and the Prometheus textfile from real runs: valid by the JUnit schema (xmllint) and
by promtool, counts and reasons as the records say, and files replaced whole or not at all."""
import os
import pathlib
import shutil
import signal
import subprocess
import time
import unittest
import xml.etree.ElementTree as ET

from harness import BIN, MPIEXEC, RANKS, ROOT, RackqualTest

SCHEMA = ROOT / ".venv" / "share" / "junit" / "junit-10.xsd"

# One rack of RANKS hosts with one GPU each: node collectives have one rank and are skipped.
SUITE = """name: sinks
platform: host
defaults: {repetitions: 3, min_time: 0.02s, deadline: 60s}
checks:
  - id: gemm
    kind: gemm
    params: {m: 128, n: 128, k: 128, dtype: fp64}
    criteria:
      tflops: {min: 1e-6}
  - id: triad
    kind: hbm
    params: {op: triad, bytes: 8MiB}
    criteria:
      gbps: {min: 0.001, warn_below: 1e6}
  - id: allreduce-node
    kind: allreduce
    scope: node
    params: {sizes: [64KiB]}
  - id: allreduce-rack
    kind: allreduce
    scope: rack
    params: {sizes: [64KiB, 256KiB]}
    criteria:
      busbw_gbps: {min: 1e-6, at: 256KiB}
    deadline: %s
"""


def samples(text: str) -> dict[str, float]:
    """'name{labels}' -> value of every sample line of a textfile."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


class Sinks(RackqualTest):
    def setUp(self):
        super().setUp()
        self.assertIsNotNone(shutil.which("xmllint"), "xmllint is needed (scripts/setup.sh installs it)")
        self.assertIsNotNone(shutil.which("promtool"), "promtool is needed (scripts/setup.sh installs it)")
        self.assertTrue(SCHEMA.is_file(), f"{SCHEMA} is missing (scripts/setup.sh fetches it)")
        self.exports = self.tmp / "exports"
        self.exports.mkdir()
        self.junit = self.exports / "rackqual.xml"
        self.prom = self.exports / "rackqual.prom"

    def suite(self, deadline: str = "60s") -> pathlib.Path:
        return self.write("sinks.yaml", SUITE % deadline)

    def run_with_sinks(self, *args: str, deadline: str = "60s", **kw):
        return self.run_suite(self.suite(deadline), "--simulate", f"1x{RANKS}x1", "--junit", str(self.junit),
                              "--prometheus", str(self.prom), *args, **kw)

    def assert_valid_junit(self) -> ET.Element:
        check = subprocess.run(["xmllint", "--noout", "--schema", str(SCHEMA), str(self.junit)], capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stderr + self.junit.read_text())
        return ET.parse(self.junit).getroot()

    def assert_valid_prom(self) -> dict[str, float]:
        text = self.prom.read_text()
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual((check.returncode, check.stdout + check.stderr), (0, ""), text)
        return samples(text)

    def test_fail_error_skip_and_warn_reach_both_files(self):
        last = RANKS - 1
        run = self.run_with_sinks("--fault", f"gemm:{last}:wrong", "--fault", f"allreduce-rack:{last}:error")
        self.assertEqual(run.code, 3, run.stdout + run.stderr)

        root = self.assert_valid_junit()
        suites = {s.get("name"): s for s in root.findall("testsuite")}
        self.assertEqual(list(suites), ["gemm", "triad", "allreduce-node", "allreduce-rack"])
        self.assertEqual((root.get("tests"), root.get("failures"), root.get("errors")), (str(2 * RANKS + RANKS + 2), "1", "2"))
        self.assertEqual(sum(int(s.get("skipped")) for s in suites.values()), RANKS)
        # The wrong GPU fails by name, the others pass.
        gemm = {c.get("name"): c for c in suites["gemm"].findall("testcase")}
        self.assertEqual(set(gemm), {f"r0-h{h} gpu 0" for h in range(RANKS)})
        failure = gemm[f"r0-h{last} gpu 0"].find("failure")
        self.assertIn("incorrect result", failure.get("message"))
        self.assertEqual(failure.get("type"), "incorrect result")
        self.assertTrue(all(gemm[f"r0-h{h} gpu 0"].find("failure") is None for h in range(last)))
        # A warning passes and says so.
        for case in suites["triad"].findall("testcase"):
            self.assertEqual(len(case), 1)
            self.assertTrue(case.find("system-out").text.startswith("warn (passes): "), case.find("system-out").text)
        # Node collectives of one rank are skipped; the rack's is an error at each point.
        for case in suites["allreduce-node"].findall("testcase"):
            self.assertIn("allreduce needs 2", case.find("skipped").get("message"))
        rack = {c.get("name"): c for c in suites["allreduce-rack"].findall("testcase")}
        self.assertEqual(set(rack), {"rack r0 size=64KiB", "rack r0 size=256KiB"})
        for case in rack.values():
            self.assertIn(f"rank {last} ", case.find("error").get("message"))
            self.assertIn("injected fault", case.find("error").get("message"))
        for s in suites.values():
            self.assertEqual({p.get("name"): p.get("value") for p in s.iter("property")}["run_status"], "finished")
            for case in s.findall("testcase"):
                self.assertGreaterEqual(float(case.get("time")), 0)
                self.assertEqual(case.get("classname"), "sinks." + s.get("name"))

        got = self.assert_valid_prom()
        where = lambda h: f'suite="sinks",check="gemm",group="r0-h{h}",host="r0-h{h}",rack="r0",gpu="0",serial=""'
        for h in range(RANKS):
            verdict = "fail" if h == last else "pass"
            for state in ("pass", "warn", "fail", "error", "skip"):
                self.assertEqual(got[f'rackqual_check_verdict{{{where(h)},verdict="{state}"}}'], 1 if state == verdict else 0)
            self.assertEqual(got[f'rackqual_gemm_flops_per_second_threshold{{{where(h)},bound="min"}}'], 1e6)
            self.assertGreater(got[f"rackqual_gemm_flops_per_second{{{where(h)}}}"], 1e6)
            triad = where(h).replace('"gemm"', '"triad"')
            self.assertEqual(got[f'rackqual_hbm_bytes_per_second_threshold{{{triad},bound="warn_below"}}'], 1e15)
            self.assertEqual(got[f'rackqual_check_verdict{{{triad},verdict="warn"}}'], 1)
            node = f'suite="sinks",check="allreduce-node",group="r0-h{h}",host="r0-h{h}",rack="r0",gpu="",serial=""'
            self.assertEqual(got[f'rackqual_check_verdict{{{node},verdict="skip"}}'], 1)
        rack = 'suite="sinks",check="allreduce-rack",group="r0",host="r0-h0",rack="r0",gpu="",serial=""'
        self.assertEqual(got[f'rackqual_check_verdict{{{rack},verdict="error"}}'], 1)
        self.assertEqual(got['rackqual_run_exit_code{suite="sinks"}'], 3)
        self.assertLess(abs(got['rackqual_run_timestamp_seconds{suite="sinks"}'] - time.time()), 600)
        # Written by a temporary file and a rename: nothing else is left in the folder.
        self.assertEqual(sorted(p.name for p in self.exports.iterdir()), ["rackqual.prom", "rackqual.xml"])

    def test_a_run_ended_by_the_watchdog_writes_what_it_has(self):
        self.prom.write_text("# previous\n")
        run = self.run_with_sinks("--fault", "allreduce-rack:0:hang", deadline="3s", timeout=120)
        self.assertEqual(run.code, 3, run.stdout + run.stderr)
        root = self.assert_valid_junit()
        suites = {s.get("name"): s for s in root.findall("testsuite")}
        self.assertEqual(list(suites), ["gemm", "triad", "allreduce-node", "allreduce-rack"])
        self.assertEqual(root.get("errors"), "1")
        self.assertIn("did not arrive", suites["allreduce-rack"].find("testcase/error").get("message"))
        self.assertEqual({p.get("name"): p.get("value") for p in suites["gemm"].iter("property")}["run_status"], "aborted")
        got = self.assert_valid_prom()
        self.assertEqual(got['rackqual_run_exit_code{suite="sinks"}'], 3)
        self.assertIn('rackqual_check_verdict{suite="sinks",check="gemm",group="r0-h0",host="r0-h0",rack="r0",gpu="0",'
                      'serial="",verdict="pass"}', got)

    def test_a_run_killed_midway_leaves_the_previous_textfile_whole(self):
        previous = "# HELP rackqual_run_exit_code previous run\n# TYPE rackqual_run_exit_code gauge\nrackqual_run_exit_code 0\n"
        self.prom.write_text(previous)
        self.junit.write_text("<testsuites/>\n")
        command = [MPIEXEC, "-n", str(RANKS), BIN, "run", str(self.suite("1h")), "--out", str(self.out),
                   "--simulate", f"1x{RANKS}x1", "--junit", str(self.junit), "--prometheus", str(self.prom),
                   "--fault", "allreduce-rack:0:hang"]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            lines = 0
            while time.monotonic() < deadline and lines < 2 * RANKS:   # gemm and triad measured
                time.sleep(0.1)
                files = list(self.out.glob("*/records.jsonl"))
                lines = len(files[0].read_text().splitlines()) if files else 0
            self.assertGreaterEqual(lines, 2 * RANKS)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.assertEqual(self.prom.read_text(), previous)
        self.assertEqual(self.junit.read_text(), "<testsuites/>\n")

    def test_a_textfile_not_named_prom_is_written_with_a_warning(self):
        self.prom = self.exports / "rackqual.txt"
        run = self.run_with_sinks("--only", "gemm")
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        self.assertIn("does not end in .prom", run.stderr)
        self.assertEqual(self.assert_valid_prom()['rackqual_run_exit_code{suite="sinks"}'], 0)

    def test_a_missing_folder_is_bad_input_before_anything_runs(self):
        self.junit = self.tmp / "no-such-folder" / "rackqual.xml"
        run = self.run_with_sinks()
        self.assertEqual(run.code, 2, run.stdout + run.stderr)
        self.assertIn("--junit: folder", run.stderr)
        self.assertIsNone(run.dir)

    def test_qualify_takes_both_options(self):
        run = self.rackqual("qualify", "--help", ranks=None)
        self.assertIn("--junit", run.stdout)
        self.assertIn("--prometheus", run.stdout)


if __name__ == "__main__":
    unittest.main()
