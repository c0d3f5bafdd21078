"""The consensus vote on real GPUs: a GPU reproduces its own digest bit for bit from run to run
(gemm with its pinned algorithm; the training step but for its atomically summed token-embedding
gradient, which stays within the sample's tolerance), every GPU of the machine agrees, and with
three or more GPUs a one-ulp corruption on one of them fails it alone. Exits 77 (ctest's skip)
on a machine without a GPU."""
import json
import pathlib
import subprocess
import sys
import tempfile
import unittest

from test_gpu import BIN, MPIEXEC, SKIP, gpu_count

STEP = "{hidden: 256, heads: 4, seq: 128, micro_batch: 2, layers: 2, vocab: 1024, dtype: bf16, consensus: 'true'}"
# Criteria healthy parts meet at these sizes (test_gpu.py says why the platform's defaults do not).
GEMM = "criteria: {tflops: {min_fraction_of_peak: 0.2}}"
STEP_CRITERIA = "criteria: {mfu: {min_fraction_of_group_median: 0.5}, step_time_s: {max: 0.5}}"
SUITE = f"""name: consensus-gpu
platform: auto
defaults: {{repetitions: 2, min_time: 0.02s, deadline: 120s}}
checks:
  - {{id: gemm-a, kind: gemm, params: {{m: 2048, n: 2048, k: 2048, dtype: bf16, consensus: 'true'}}, {GEMM}}}
  - {{id: gemm-b, kind: gemm, params: {{m: 2048, n: 2048, k: 2048, dtype: bf16, consensus: 'true'}}, {GEMM}}}
  - {{id: step-a, kind: transformer_step, scope: node, params: {STEP}, {STEP_CRITERIA}}}
  - {{id: step-b, kind: transformer_step, scope: node, params: {STEP}, {STEP_CRITERIA}}}
"""


class ConsensusGpu(unittest.TestCase):
    ranks = 1

    def run_suite(self, *args):
        with tempfile.TemporaryDirectory() as tmp:
            suite = pathlib.Path(tmp) / "consensus.yaml"
            suite.write_text(SUITE)
            out = pathlib.Path(tmp) / "out"
            proc = subprocess.run([MPIEXEC, "-n", str(self.ranks), BIN, "run", str(suite), "--backend", "cuda",
                                   "--out", str(out), *args], capture_output=True, text=True, timeout=900)
            records = [json.loads(line) for line in next(out.glob("*/records.jsonl")).read_text().splitlines()]
            return proc, records

    def digests(self, records, check):
        return {d["rank"]: d for r in records if r["check"] == check for d in r["digests"]}

    def test_each_gpu_reproduces_its_digest_and_all_agree(self):
        proc, records = self.run_suite()
        self.assertIn(proc.returncode, (0, 1), proc.stderr)   # 1: a threshold may fail on a busy GPU
        for r in records:
            self.assertTrue(r["correct"]["ok"], r)
            self.assertNotIn("consensus: rank", r["reason"], r)
        for a, b in (("gemm-a", "gemm-b"), ("step-a", "step-b")):
            first, again = self.digests(records, a), self.digests(records, b)
            self.assertEqual(sorted(first), list(range(self.ranks)))
            for rank, d in first.items():
                self.assertEqual(d["hash"], again[rank]["hash"], (a, rank))
                self.assertEqual(d["bit_exact"], a.startswith("gemm"), d)
                if not d["bit_exact"]:
                    scale = max(abs(v) for v in d["sample"])
                    gap = max(abs(x - y) for x, y in zip(d["sample"], again[rank]["sample"]))
                    self.assertLessEqual(gap, d["tolerance"] * scale, (a, rank))
            self.assertEqual(len({d["hash"] for d in first.values()}), 1, first)

    def test_a_corrupt_gpu_fails_alone(self):
        if self.ranks < 3:
            self.skipTest("a majority against one GPU needs three")
        last = self.ranks - 1
        proc, records = self.run_suite("--fault", f"gemm-a:{last}:corrupt", "--fault", f"step-a:{last}:corrupt",
                                       "--only", "gemm-a", "--only", "step-a")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        for r in records:
            named = f"consensus: rank {last} (" in r["reason"]
            corrupt = r["check"] == "step-a" or r["rank"] == last
            self.assertEqual(named, corrupt, r)
            self.assertEqual(r["correct"]["ok"], not corrupt, r)


if __name__ == "__main__":
    count = gpu_count()
    if count == 0:
        print("no GPU on this machine: skipped")
        sys.exit(SKIP)
    ConsensusGpu.ranks = count
    unittest.main()
