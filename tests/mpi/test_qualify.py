"""rackqual qualify: the ladder gpu -> node -> rack -> span over a rack the inventory names, a
verdict per GPU, per node and for the rack, the rack's expected GPUs counted, and a failed rung
stopping the ladder unless told to go on."""
import socket
import unittest

from harness import RackqualTest

RANKS = 4

SUITE = """name: ladder
platform: host
defaults: {repetitions: 2, min_time: 0.01s, deadline: 120s}
checks:
  - id: rack-reduce
    kind: allreduce
    scope: rack
    params: {sizes: [64KiB]}
  - id: gemm
    kind: gemm
    params: {m: 64, n: 64, k: 64, dtype: fp64}
  - id: node-reduce
    kind: allreduce
    scope: node
    params: {sizes: [64KiB]}
"""

INVENTORY = """cluster: test
racks:
  - name: r17
    hosts:
      - {name: %s, gpus: %d}
  - name: r18
    gpus: 8
    hosts: [elsewhere]
"""


class Qualify(RackqualTest):
    def qualify(self, *args, gpus=RANKS):
        inventory = self.write("inventory.yaml", INVENTORY % (socket.gethostname(), gpus))
        return self.rackqual("qualify", "--rack", "r17", "--inventory", str(inventory), "--suite",
                             str(self.write("ladder.yaml", SUITE)), "--out", str(self.out), *args, ranks=RANKS)

    def verdicts(self, run):
        return {(r["scope"], r["rank"] if r["scope"] == "gpu" else r["group"]): r
                for r in run.records() if r["check"] == "qualify"}

    def test_a_healthy_rack_passes_every_rung_with_a_verdict_per_gpu_node_and_rack(self):
        run = self.qualify()
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        checks = [r["check"] for r in run.records() if r["check"] != "qualify"]
        # The ladder: gpu rung first, then node, then rack, whatever the suite's order.
        self.assertEqual(checks.index("gemm"), 0)
        self.assertLess(max(i for i, c in enumerate(checks) if c == "node-reduce"), checks.index("rack-reduce"))
        verdicts = self.verdicts(run)
        host = socket.gethostname()
        self.assertEqual(set(verdicts), {("gpu", r) for r in range(RANKS)} | {("node", host), ("rack", "r17")})
        self.assertTrue(all(v["verdict"] == "pass" for v in verdicts.values()), verdicts)
        self.assertIn("rack r17 qualified: 1 hosts, 4 GPUs", verdicts[("rack", "r17")]["reason"])

    def test_a_missing_gpu_fails_its_node_and_the_rack_naming_the_host(self):
        run = self.qualify(gpus=RANKS + 1)
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        verdicts = self.verdicts(run)
        host = socket.gethostname()
        self.assertEqual(verdicts[("node", host)]["verdict"], "fail")
        self.assertIn(f"{host}: {RANKS} of {RANKS + 1} GPUs present", verdicts[("node", host)]["reason"])
        self.assertEqual(verdicts[("rack", "r17")]["verdict"], "fail")
        self.assertIn(f"node {host} fail", verdicts[("rack", "r17")]["reason"])

    def test_a_failed_rung_stops_the_ladder_unless_told_to_go_on(self):
        run = self.qualify("--fault", "gemm:2:wrong")
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        skipped = {r["check"] for r in run.records() if r["verdict"] == "skip"}
        self.assertEqual(skipped, {"node-reduce", "rack-reduce"})
        verdicts = self.verdicts(run)
        self.assertEqual([r for (scope, r), v in verdicts.items() if scope == "gpu" and v["verdict"] == "fail"], [2])
        rack = verdicts[("rack", "r17")]
        self.assertEqual(rack["verdict"], "fail")
        self.assertIn("not run after a rung failed", rack["reason"])

        run = self.qualify("--fault", "gemm:2:wrong", "--keep-going")
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        self.assertFalse([r for r in run.records() if r["verdict"] == "skip"])

    def test_a_rack_not_in_the_inventory_or_ranks_elsewhere_are_refused(self):
        inventory = self.write("inventory.yaml", INVENTORY % (socket.gethostname(), RANKS))
        suite = str(self.write("ladder.yaml", SUITE))
        run = self.rackqual("qualify", "--rack", "r99", "--inventory", str(inventory), "--suite", suite,
                            "--out", str(self.out), ranks=RANKS)
        self.assertEqual(run.code, 2, run.stdout + run.stderr)
        self.assertIn("--rack: rack r99 is not in", run.stderr)
        run = self.rackqual("qualify", "--rack", "r18", "--inventory", str(inventory), "--suite", suite,
                            "--out", str(self.out), ranks=RANKS)
        self.assertEqual(run.code, 2, run.stdout + run.stderr)
        self.assertIn("runs on rack r17, neither r18 nor a --with rack", run.stderr)


if __name__ == "__main__":
    unittest.main()
