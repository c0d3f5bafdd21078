"""Platform profiles: a suite's own profile is found beside it, and its default criteria
judge the metrics that a check leaves without one."""
import unittest

from harness import RackqualTest

PROFILE = """name: lab
devices: ["Lab GPU"]
peaks:
  tflops_fp64: {value: 1, unit: TFLOP/s, source: a figure no CPU reaches ten times over}
defaults:
  gemm.tflops: {min_fraction_of_peak: 10}
  hbm.gbps: {min: 0.001}
"""

SUITE = """name: lab-suite
platform: lab
defaults: {repetitions: 3, min_time: 0.02s}
checks:
  - {id: judged-by-default, kind: gemm, params: {m: 64, n: 64, k: 64, dtype: fp64}}
  - id: own-criterion
    kind: gemm
    params: {m: 64, n: 64, k: 64, dtype: fp64}
    criteria:
      tflops: {min: 1e-9}
  - {id: no-peak-for-fp32, kind: gemm, params: {m: 64, n: 64, k: 64, dtype: fp32}}
  - {id: triad, kind: hbm, params: {op: triad, bytes: 1MiB}}
"""


class PlatformDefaults(RackqualTest):
    def test_defaults_judge_what_a_check_leaves_open(self):
        (self.tmp / "platforms").mkdir()
        (self.tmp / "platforms" / "lab.yaml").write_text(PROFILE)
        run = self.run_suite(self.write("suite.yaml", SUITE))
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        by_check = {}
        for r in run.records():
            by_check.setdefault(r["check"], set()).add((r["verdict"], r["criterion"]))
        self.assertEqual(by_check["judged-by-default"],
                         {("fail", "tflops: {min_fraction_of_peak: 10} (platform lab default)")})
        self.assertEqual(by_check["own-criterion"], {("pass", "tflops: {min: 1e-9}")})
        self.assertEqual(by_check["no-peak-for-fp32"], {("pass", None)})   # no fp32 peak: the default does not apply
        self.assertEqual(by_check["triad"], {("pass", "gbps: {min: 0.001} (platform lab default)")})
        self.assertEqual(run.manifest()["platform"], "lab")


if __name__ == "__main__":
    unittest.main()
