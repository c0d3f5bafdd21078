"""The command line: list, check, --only, --help."""
import re
import unittest

from harness import ROOT, RackqualTest


class Cli(RackqualTest):
    def test_list_shows_kinds_with_parameters_and_metrics(self):
        run = self.rackqual("list", ranks=None)
        self.assertEqual(run.code, 0, run.stderr)
        for words in ("gemm:", "hbm:", "allreduce:", "transformer_step:", "busbw_gbps", "tflops", "gbps", "mfu", "sizes",
                      "dtype"):
            self.assertIn(words, run.stdout)
        backends = re.findall(r"^  backends: (.*)$", run.stdout, re.M)
        self.assertEqual(len(backends), 4)
        self.assertTrue(all("host" in b.split() for b in backends), backends)

    def test_check_validates_every_shipped_suite_on_every_platform(self):
        devices = {"NVIDIA H100 80GB HBM3": "h100-sxm", "NVIDIA H200": "h200-sxm", "NVIDIA B200": "b200",
                   "NVIDIA GB200": "gb200"}
        for suite in sorted((ROOT / "suites").glob("*.yaml")):
            for device, platform in devices.items():
                with self.subTest(suite=suite.name, device=device):
                    run = self.rackqual("check", str(suite), "--backend", "cuda", "--device", device, ranks=None)
                    self.assertEqual(run.code, 0, run.stdout + run.stderr)
                    self.assertIn(f"platform {platform}", run.stdout)
        run = self.rackqual("check", str(ROOT / "suites" / "smoke.yaml"), "--backend", "host", ranks=None)
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        self.assertIn("is valid", run.stdout)

    def test_check_names_an_unknown_device(self):
        run = self.rackqual("check", str(ROOT / "suites" / "rack-bringup.yaml"), "--backend", "cuda", "--device",
                            "NVIDIA A100-SXM4-80GB", ranks=None)
        self.assertEqual(run.code, 2)
        self.assertIn("no profile lists device 'NVIDIA A100-SXM4-80GB'", run.stderr)

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
