"""Silent data corruption caught by peer vote: with `consensus`, every rank computes the same
problem from the same seed, and a rank whose output hash differs from the majority's fails,
named, though the kind's own check passes it."""
import unittest

from harness import RackqualTest

SUITE = """name: consensus
platform: host
defaults: {repetitions: 2, min_time: 0.01s, deadline: 120s}
checks:
  - id: gemm
    kind: gemm
    params: {m: 96, n: 64, k: 128, dtype: fp64, consensus: "%(on)s"}
  - id: step
    kind: transformer_step
    scope: node
    params: {hidden: 32, heads: 2, seq: 16, micro_batch: 2, layers: 1, vocab: 64, consensus: "%(on)s"}
"""

RANKS = 4


class Consensus(RackqualTest):
    def suite(self, on=True):
        return self.write("consensus.yaml", SUITE % {"on": "true" if on else "false"})

    def test_healthy_ranks_agree_bit_for_bit(self):
        run = self.run_suite(self.suite(), ranks=RANKS)
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        records = run.records()
        gemm = [r for r in records if r["check"] == "gemm"]
        self.assertEqual(sorted(r["rank"] for r in gemm), list(range(RANKS)))
        self.assertEqual(len({r["digests"][0]["hash"] for r in gemm}), 1)
        for r in records:
            self.assertEqual(r["verdict"], "pass", r)
            self.assertTrue(all(d["bit_exact"] for d in r["digests"]), r)
            self.assertIn(f"shared by {RANKS} of {RANKS} devices", r["correct"]["detail"])
        step = [r for r in records if r["check"] == "step"]
        self.assertTrue(step and all(len(r["digests"]) == RANKS for r in step))
        self.assertIn("before any exchange", step[0]["digests"][0]["covers"])

    def test_a_corrupt_gemm_output_fails_only_its_rank(self):
        run = self.run_suite(self.suite(), "--fault", "gemm:2:corrupt", ranks=RANKS)
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        for r in run.records():
            corrupt = r["check"] == "gemm" and r["rank"] == 2
            self.assertEqual(r["verdict"], "fail" if corrupt else "pass", r)
            self.assertEqual(r["correct"]["ok"], not corrupt, r)
            if corrupt:
                self.assertRegex(r["reason"], r"^consensus: rank 2 \(\S+ dev2\): output hash [0-9a-f]{16} differs from "
                                              rf"the {RANKS - 1} of {RANKS} devices \(.*\) that agree on [0-9a-f]{{16}}")
                # The kind's own check passed it: only the vote saw the one-ulp change.
                self.assertTrue(r["correct"]["detail"].startswith("64 sampled outputs within fp64 tolerance"), r)
        self.assertEqual(run.manifest()["exit_status"], 1)

    def test_a_corrupt_local_gradient_fails_the_training_step_naming_the_rank(self):
        run = self.run_suite(self.suite(), "--fault", "step:3:corrupt", ranks=RANKS)
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        step = [r for r in run.records() if r["check"] == "step"]
        self.assertTrue(step)
        for r in run.records():
            self.assertEqual(r["verdict"], "fail" if r["check"] == "step" else "pass", r)
        for r in step:
            self.assertIn("consensus: rank 3 (", r["reason"])
            self.assertIn(f"differs from the {RANKS - 1} of {RANKS} devices", r["reason"])

    def test_without_consensus_the_same_corruption_goes_unseen(self):
        run = self.run_suite(self.suite(on=False), "--fault", "gemm:2:corrupt", "--fault", "step:3:corrupt", ranks=RANKS)
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        for r in run.records():
            self.assertEqual(r["verdict"], "pass", r)
            self.assertIsNone(r["digests"], r)


if __name__ == "__main__":
    unittest.main()
