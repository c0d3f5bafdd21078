"""Scopes form the right groups: 4 ranks on two "hosts" of one rack (named through
RACKQUAL_HOST and RACKQUAL_RACK, the documented seam for several hosts on one machine)."""
import subprocess
import unittest

from harness import BIN, MPIEXEC, RackqualTest, Run

SUITE = """name: topology
platform: host
defaults: {repetitions: 3, min_time: 0.02s}
checks:
  - {id: gemm, kind: gemm, scope: gpu, params: {m: 64, n: 64, k: 64}}
  - {id: node, kind: allreduce, scope: node, params: {sizes: [64KiB]}}
  - {id: rack, kind: allreduce, scope: rack, params: {sizes: [64KiB]}}
  - {id: cluster, kind: allreduce, scope: cluster, params: {sizes: [64KiB]}}
"""


class Topology(RackqualTest):
    def test_groups_per_scope(self):
        suite = self.write("topology.yaml", SUITE)
        command = [MPIEXEC]
        for host in ("host-a", "host-b"):
            if len(command) > 1:
                command.append(":")
            command += ["-n", "2", "-env", "RACKQUAL_HOST", host, "-env", "RACKQUAL_RACK", "rack-1",
                        BIN, "run", str(suite), "--out", str(self.out)]
        run = Run(subprocess.run(command, capture_output=True, text=True, timeout=300), self.out)
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        records = run.records()

        gemm = sorted((r["rank"], r["host"], r["device"]["index"]) for r in records if r["check"] == "gemm")
        self.assertEqual(gemm, [(0, "host-a", 0), (1, "host-a", 1), (2, "host-b", 0), (3, "host-b", 1)])

        def groups(check):
            return sorted((r["group"], r["rank"]) for r in records if r["check"] == check and r["metric"] == "busbw_gbps")

        self.assertEqual(groups("node"), [("host-a", 0), ("host-b", 2)])
        self.assertEqual(groups("rack"), [("rack-1", 0)])
        self.assertEqual(groups("cluster"), [("cluster", 0)])
        for r in records:
            if r["kind"] == "allreduce" and r["metric"] == "busbw_gbps":
                algbw = next(a["value"] for a in records if a["check"] == r["check"] and a["group"] == r["group"]
                             and a["metric"] == "algbw_gbps")
                ranks = 2 if r["scope"] == "node" else 4
                self.assertAlmostEqual(r["value"], algbw * 2 * (ranks - 1) / ranks, delta=1e-9 * algbw)
                self.assertIn(f"sum over {ranks} ranks", r["correct"]["detail"])
        self.assertEqual(run.manifest()["hosts"], ["host-a", "host-b"])


if __name__ == "__main__":
    unittest.main()
