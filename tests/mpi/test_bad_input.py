"""Bad input: one line `file:line: field: message` on stderr and exit 2, never a crash."""
import re
import subprocess
import unittest

from harness import BIN, MPIEXEC, RackqualTest

LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<field>[^:\n]+): (?P<message>[^\n]+)$")

HEAD = "name: bad\nplatform: host\nchecks:\n"

# name -> (suite text, line, field, words the message must contain)
CASES = {
    "malformed_yaml": (HEAD + "  - id: a\n    kind: [gemm\n    scope: gpu\n", 6, "yaml", "end of sequence flow not found"),
    "unknown_kind": (HEAD + "  - id: a\n    kind: matmul\n", 5, "checks[a].kind", "unknown kind 'matmul'"),
    "unknown_metric": (HEAD + "  - id: a\n    kind: gemm\n    criteria:\n      flops: {min: 1}\n", 7,
                       "checks[a].criteria.flops", "unknown metric 'flops'"),
    "wrong_type": (HEAD + "  - id: a\n    kind: gemm\n    params: {m: abc}\n", 6, "checks[a].params.m",
                   "expected an integer, got 'abc'"),
    "negative_size": (HEAD + "  - id: a\n    kind: hbm\n    params:\n      bytes: -64MiB\n", 7,
                      "checks[a].params.bytes", "must be at least"),
    "zero_integer": (HEAD + "  - id: a\n    kind: gemm\n    params:\n      k: 0\n", 7, "checks[a].params.k", "must be at least 1"),
    "unknown_param": (HEAD + "  - id: a\n    kind: gemm\n    params:\n      z: 3\n", 7, "checks[a].params.z", "unknown field"),
    "unknown_field": (HEAD + "  - id: a\n    kind: gemm\n    thresholds: {}\n", 6, "checks[0].thresholds", "unknown field"),
    "size_not_whole_elements": (HEAD + "  - id: a\n    kind: allreduce\n    scope: node\n    params:\n      sizes: [1MiB, 1001]\n",
                                8, "checks[a].params.sizes", "not a whole number of fp32 elements"),
    "at_not_swept": (HEAD + "  - id: a\n    kind: allreduce\n    scope: node\n    params: {sizes: [1MiB]}\n"
                            "    criteria:\n      busbw_gbps: {min: 1, at: 2MiB}\n", 9, "checks[a].criteria.busbw_gbps.at",
                     "not one of the check's sizes"),
    "scope_not_allowed": (HEAD + "  - id: a\n    kind: gemm\n    scope: rack\n", 6, "checks[a].scope", "runs at scope gpu"),
    "duplicate_id": (HEAD + "  - {id: a, kind: gemm}\n  - {id: a, kind: hbm}\n", 5, "checks[a].id", "duplicate check id"),
    "bad_duration": (HEAD + "  - id: a\n    kind: gemm\n    deadline: soon\n", 6, "checks[a].deadline", "positive duration"),
    "peak_missing_from_profile": (HEAD + "  - id: a\n    kind: allreduce\n    scope: node\n    criteria:\n"
                                         "      busbw_gbps: {min_fraction_of_peak: 0.8}\n", 8,
                                  "checks[a].criteria.busbw_gbps", "gives no figure 'busbw_gbps'"),
    "heads_not_dividing_hidden": (HEAD + "  - id: t\n    kind: transformer_step\n    params: {hidden: 1000, heads: 16}\n",
                                  6, "checks[t].params.heads", "16 heads do not divide hidden 1000"),
    "zero_layers": (HEAD + "  - id: t\n    kind: transformer_step\n    params:\n      layers: 0\n", 7,
                    "checks[t].params.layers", "must be at least 1"),
    "zero_seq": (HEAD + "  - id: t\n    kind: transformer_step\n    params: {seq: 0}\n", 6, "checks[t].params.seq",
                 "must be at least 1"),
    "no_checks": ("name: bad\nchecks: []\n", 2, "checks", "non-empty list"),
    "unknown_platform": ("name: bad\nplatform: tpu\nchecks:\n  - {id: a, kind: gemm}\n", 2, "platform", "no profile named 'tpu'"),
}


class BadInput(RackqualTest):
    def assert_one_line_error(self, run, path, line, field, words):
        self.assertEqual(run.code, 2, run.stderr)
        self.assertEqual(run.stdout, "")
        lines = run.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, run.stderr)
        match = LINE.match(lines[0])
        self.assertIsNotNone(match, lines[0])
        self.assertEqual((match["file"], int(match["line"]), match["field"]), (str(path), line, field), lines[0])
        self.assertIn(words, match["message"])

    def test_each_bad_suite_is_rejected_by_check(self):
        for name, (text, line, field, words) in CASES.items():
            with self.subTest(name):
                path = self.write(f"{name}.yaml", text)
                self.assert_one_line_error(self.rackqual("check", str(path), ranks=None), path, line, field, words)

    def test_bad_suite_under_mpiexec_gives_one_line_and_exit_2(self):
        text, line, field, words = CASES["unknown_metric"]
        path = self.write("suite.yaml", text)
        run = self.run_suite(path)
        self.assert_one_line_error(run, path, line, field, words)
        self.assertIsNone(run.dir)   # nothing ran, nothing written

    def test_missing_file(self):
        path = self.tmp / "absent.yaml"
        self.assert_one_line_error(self.rackqual("check", str(path), ranks=None), path, 1, "file", "No such file")
        self.assert_one_line_error(self.run_suite(path), path, 1, "file", "No such file")

    def test_unknown_only_check(self):
        path = self.write("ok.yaml", HEAD + "  - {id: a, kind: gemm, params: {m: 64, n: 64, k: 64}}\n")
        run = self.run_suite(path, "--only", "b")   # an option, not a line of the file: no line to name
        self.assertEqual(run.code, 2, run.stderr)
        self.assertEqual(run.stderr.strip().splitlines(), [f"rackqual: --only: no check with id 'b' in suite bad ({path})"])

    def test_bad_options(self):
        path = self.write("ok.yaml", HEAD + "  - {id: a, kind: gemm}\n")
        for args, words in ((["--fault", "a:x:wrong"], "rank must be"), (["--fault", "a:0:melt"], "mode must be"),
                            (["--backend", "tpu"], "--backend"), (["--bogus"], "--bogus")):
            with self.subTest(args):
                run = self.run_suite(path, *args)
                self.assertEqual(run.code, 2, run.stderr)
                self.assertIn(words, run.stderr)
                self.assertNotIn("terminate", run.stderr)

    def test_a_problem_on_one_rank_stops_every_rank(self):
        good = self.write("ok.yaml", HEAD + "  - {id: a, kind: gemm, params: {m: 64, n: 64, k: 64}}\n")
        missing = self.tmp / "only-on-rank-0.yaml"
        command = [MPIEXEC, "-n", "1", BIN, "run", str(good), "--out", str(self.out), ":",
                   "-n", "1", BIN, "run", str(missing), "--out", str(self.out)]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stderr.strip().splitlines(), [f"rank 1: {missing}:1: file: cannot read: No such file or directory"])
        self.assertFalse(self.out.exists())

    def test_cuda_backend_without_gpu_says_so_in_one_line(self):
        path = self.write("ok.yaml", HEAD + "  - {id: a, kind: gemm}\n")
        run = self.run_suite(path, "--backend", "cuda")
        self.assertEqual(run.code, 2, run.stderr)
        self.assertEqual(len(run.stderr.strip().splitlines()), 1, run.stderr)
        self.assertIn("cuda", run.stderr)


if __name__ == "__main__":
    unittest.main()
