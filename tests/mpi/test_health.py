"""rackqual health: the node's quick check, its exit codes (0 healthy, 1 unhealthy, 2 could not
assess, 3 a check errored) and what it says; it launches its own ranks (mpiexec on this node)."""
import unittest

from harness import RackqualTest

SUITE = """name: quick-health
platform: host
defaults: {repetitions: 3, min_time: 0.02s, deadline: 60s}
checks:
  - id: gemm
    kind: gemm
    params: {m: 128, n: 128, k: 128, dtype: fp64}
  - id: reduce
    kind: allreduce
    scope: node
    params: {sizes: [64KiB]}
"""


class Health(RackqualTest):
    def health(self, *args, suite=SUITE):
        path = self.tmp / "health.yaml"
        path.write_text(suite)
        return self.rackqual("health", "--backend", "host", "--suite", str(path), "--node", "n1", *args, ranks=None,
                             timeout=120)

    def test_a_healthy_node_exits_0_and_leaves_no_temporary_records(self):
        run = self.health()
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        self.assertIn("rackqual health: node n1: healthy", run.stdout)
        self.assertIn("2 ranks, backend host", run.stdout)

    def test_records_are_kept_with_out_and_name_the_node(self):
        run = self.health("--out", str(self.out), "--ranks", "3")
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        records = run.records()
        self.assertEqual({r["host"] for r in records}, {"n1"})
        self.assertEqual({r["rank"] for r in records if r["check"] == "gemm"}, {0, 1, 2})

    def test_a_wrong_result_is_unhealthy_and_names_the_check_and_gpu(self):
        run = self.health("--fault", "gemm:1:wrong")
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        self.assertRegex(run.stdout, r"node n1: unhealthy: gemm n1 gpu 1: ")

    def test_an_errored_check_is_3_not_unhealthy(self):
        run = self.health("--fault", "reduce:0:error")
        self.assertEqual(run.code, 3, run.stdout + run.stderr)
        self.assertIn("not assessed", run.stdout)

    def test_a_bad_suite_is_2_with_file_and_line(self):
        run = self.health(suite=SUITE.replace("kind: gemm", "kind: gemmm"))
        self.assertEqual(run.code, 2, run.stdout + run.stderr)
        self.assertRegex(run.stderr, r"health\.yaml:\d+: ")
        self.assertIn("could not assess", run.stdout)

    def test_a_bad_fault_or_node_is_refused_before_running(self):
        self.assertEqual(self.health("--fault", "gemm").code, 2)
        self.assertEqual(self.health("--node", "../etc").code, 2)

    def test_a_run_past_its_timeout_is_3(self):
        run = self.health("--fault", "gemm:1:hang", "--timeout", "5")
        self.assertEqual(run.code, 3, run.stdout + run.stderr)
        self.assertIn("could not finish in 5s", run.stdout)


if __name__ == "__main__":
    unittest.main()
