"""The command line: list, check, --only, --help."""
import unittest

from harness import ROOT, RackqualTest


class Cli(RackqualTest):
    def test_list_shows_kinds_with_parameters_and_metrics(self):
        run = self.rackqual("list", ranks=None)
        self.assertEqual(run.code, 0, run.stderr)
        for words in ("gemm:", "hbm:", "allreduce:", "busbw_gbps", "tflops", "gbps", "sizes", "dtype", "backends: host"):
            self.assertIn(words, run.stdout)

    def test_check_validates_every_shipped_suite(self):
        for suite in sorted((ROOT / "suites").glob("*.yaml")):
            with self.subTest(suite.name):
                run = self.rackqual("check", str(suite), "--backend", "host", ranks=None)
                self.assertEqual(run.code, 0, run.stdout + run.stderr)
                self.assertIn("is valid", run.stdout)

    def test_only_runs_the_named_checks(self):
        run = self.run_suite(ROOT / "suites" / "smoke.yaml", "--only", "gemm-fp64", "--only", "hbm-triad")
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        self.assertEqual({r["check"] for r in run.records()}, {"gemm-fp64", "hbm-triad"})
        self.assertIn("[2/2] hbm-triad pass", run.stderr)

    def test_help_of_each_command(self):
        for command in ("run", "list", "check"):
            with self.subTest(command):
                run = self.rackqual(command, "--help", ranks=None)
                self.assertEqual(run.code, 0)
                self.assertIn("Usage", run.stdout)
        self.assertIn("--fault", self.rackqual("run", "--help", ranks=None).stdout)


if __name__ == "__main__":
    unittest.main()
