"""What a run may touch and allocate: it writes only inside OUT/RUN_ID, made new, never through a
symbolic link; names in suites and options are never paths; and a suite that needs more memory
than the machine has is refused before anything allocates."""
import os
import re
import time
import unittest

from harness import RackqualTest

LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<field>[^:\n]+): (?P<message>[^\n]+)$")

SUITE = ("name: paths\nplatform: host\nchecks:\n"
         "  - {id: g, kind: gemm, params: {m: 64, n: 64, k: 64}, repetitions: 1, min_time: 0.001s}\n")


class Paths(RackqualTest):
    def setUp(self):
        super().setUp()
        self.suite = self.write("suite.yaml", SUITE)
        self.outside = self.tmp / "outside"
        self.outside.mkdir()
        (self.outside / "keep.txt").write_text("precious\n")

    def assert_outside_untouched(self):
        self.assertEqual(sorted(p.name for p in self.outside.iterdir()), ["keep.txt"])
        self.assertEqual((self.outside / "keep.txt").read_text(), "precious\n")

    def test_a_link_planted_at_the_run_folder_is_refused_and_not_followed(self):
        self.out.mkdir()
        planted = self.out / "nightly-1"
        planted.symlink_to(self.outside, target_is_directory=True)
        run = self.run_suite(self.suite, "--run-id", "nightly-1")
        self.assertEqual(run.code, 2, run.stdout + run.stderr)
        self.assertIn(f"rackqual: --out: {planted}: already exists", run.stderr)
        self.assertNotIn("records:", run.stdout)
        self.assertTrue(planted.is_symlink())
        self.assert_outside_untouched()

    def test_out_may_be_a_link_the_operator_made(self):
        real = self.tmp / "scratch-results"
        real.mkdir()
        self.out.symlink_to(real, target_is_directory=True)
        run = self.run_suite(self.suite, "--run-id", "r1")
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        self.assertEqual(run.dir.name, "r1")
        self.assertEqual({p.name for p in (real / "r1").iterdir()}, {"records.jsonl", "manifest.json", "benchmark.json"})
        self.assertTrue(all(r["verdict"] == "pass" for r in run.records()))
        self.assertEqual(run.manifest()["run_id"], "r1")

    def test_the_run_id_is_a_name(self):
        for run_id in ("../outside", "a/b", ".hidden"):
            with self.subTest(run_id):
                run = self.run_suite(self.suite, "--run-id", run_id)
                self.assertEqual(run.code, 2, run.stderr)
                self.assertIn(f"rackqual: --run-id: '{run_id}'", run.stderr)
                self.assertFalse(self.out.exists())
        self.assert_outside_untouched()

    def test_a_benchmark_json_link_is_refused_before_anything_runs(self):
        link = self.tmp / "bench.json"
        link.symlink_to(self.outside / "keep.txt")
        run = self.run_suite(self.suite, "--benchmark-json", str(link))
        self.assertEqual(run.code, 2, run.stderr)
        self.assertIn(f"rackqual: --benchmark-json: {link}: is a symbolic link; not followed", run.stderr)
        self.assertIsNone(run.dir)
        self.assert_outside_untouched()

    def test_a_platform_that_is_a_path_is_refused(self):
        (self.tmp / "platforms").mkdir()
        (self.tmp / "evil.yaml").write_text("name: evil\npeaks:\n  tflops_fp64: {value: 1, unit: TFLOP/s, source: s}\n")
        suite = self.write("evil-suite.yaml", SUITE.replace("platform: host", "platform: ../evil"))
        run = self.run_suite(suite)
        self.assertEqual(run.code, 2, run.stderr)
        self.assertIn(f"{suite}:2: platform: '../evil' is a path, not a name", run.stderr)
        run = self.rackqual("check", str(self.suite), "--platform", "../evil", ranks=None)
        self.assertEqual(run.code, 2, run.stderr)
        self.assertIn(f"{self.suite}:1: --platform: '../evil' is a path, not a name", run.stderr)


class Memory(RackqualTest):
    def test_a_gemm_larger_than_the_host_is_refused_before_anything_allocates(self):
        suite = self.write("huge.yaml", "name: huge\nplatform: host\nchecks:\n  - id: huge-gemm\n    kind: gemm\n"
                                        "    params:\n      m: 1000000\n      n: 1000000\n      k: 1000000\n"
                                        "      dtype: fp64\n")
        started = time.monotonic()
        run = self.run_suite(suite, "--backend", "host", timeout=60)
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(run.code, 2, run.stdout + run.stderr)
        self.assertEqual(run.stdout, "")
        lines = run.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, run.stderr)
        match = LINE.match(lines[0])
        self.assertIsNotNone(match, lines[0])
        self.assertEqual((match["file"], int(match["line"]), match["field"]), (str(suite), 7, "checks[huge-gemm].params.m"))
        # 3 x 10^12 fp64 elements and 32 MiB of workspace, per rank; the machine's physical memory.
        host_gib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
        self.assertIn(f"huge-gemm needs 22351.8 GiB per rank", match["message"])
        self.assertIn(f"the host has {host_gib:.1f} GiB", match["message"])
        self.assertIsNone(run.dir)

    def test_ranks_of_one_host_share_its_memory(self):
        host_bytes = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        array = int(host_bytes * 0.2) // 2**20 * 2**20   # hbm's three arrays: 60% of the host, once but not twice
        suite = self.write("mem.yaml", f"name: mem\nplatform: host\nchecks:\n  - id: mem\n    kind: hbm\n"
                                       f"    params: {{bytes: {array}}}\n")
        run = self.run_suite(suite, "--backend", "host", ranks=2, timeout=60)
        self.assertEqual(run.code, 2, run.stdout + run.stderr)
        self.assertIn("for the 2 ranks of this host), the host has", run.stderr)
        self.assertIn(f"{suite}:6: checks[mem].params.bytes: mem needs", run.stderr)


if __name__ == "__main__":
    unittest.main()
