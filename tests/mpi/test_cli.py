"""The command line: list, check, --only, --help."""
import re
import unittest

from harness import ROOT, RackqualTest


class Cli(RackqualTest):
    def test_list_shows_kinds_with_parameters_and_metrics(self):
        run = self.rackqual("list", ranks=None)
        self.assertEqual(run.code, 0, run.stderr)
        for words in ("gemm:", "hbm:", "allreduce:", "p2p:", "transformer_step:", "busbw_gbps", "bandwidth_gbps",
                      "time_p95_us", "tflops", "gbps", "mfu", "sizes", "dtype"):
            self.assertIn(words, run.stdout)
        backends = re.findall(r"^  backends: (.*)$", run.stdout, re.M)
        self.assertEqual(len(backends), 5)
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

    def test_check_validates_a_gpu_suite_without_a_gpu(self):
        # A crew on a login node: auto picks the backend that runs every check and every GPU profile.
        run = self.rackqual("check", str(ROOT / "suites" / "rack-bringup.yaml"), ranks=None)
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        self.assertIn("backend cuda, platforms ", run.stdout)
        for platform in ("h100-sxm", "h200-sxm", "b200", "gb200"):
            self.assertIn(platform, run.stdout)
        run = self.rackqual("check", str(ROOT / "suites" / "rack-bringup.yaml"), "--platform", "h200-sxm", ranks=None)
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        self.assertIn("platform h200-sxm", run.stdout)

    def test_an_unsupported_dtype_for_the_backend_is_exit_2_before_anything_runs(self):
        suite = ROOT / "suites" / "rack-bringup.yaml"
        line = next(i for i, text in enumerate(suite.read_text().splitlines(), 1) if "dtype: bf16" in text)
        for run in (self.rackqual("check", str(suite), "--backend", "host", ranks=None),
                    self.run_suite(suite, "--backend", "host")):
            self.assertEqual(run.code, 2, run.stdout + run.stderr)
            self.assertEqual(run.stderr.strip(), f"{suite}:{line}: checks[gemm-bf16].params.dtype: "
                                                 "backend host runs gemm with dtype fp32, fp64, not bf16 (backend cuda does)")
            self.assertIsNone(run.dir)   # nothing ran, nothing was written

    def test_auto_says_when_it_falls_back_to_the_host(self):
        run = self.run_suite(ROOT / "suites" / "smoke.yaml", "--only", "gemm-fp64")
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        manifest = run.manifest()
        if manifest["backend"] == "cuda":
            self.skipTest("every rank bound a GPU here")
        self.assertIn("backend auto: no rank sees a GPU", run.stderr)
        self.assertEqual(manifest["backend"], "host")
        self.assertIn("no rank sees a GPU", manifest["backend_choice"])

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
