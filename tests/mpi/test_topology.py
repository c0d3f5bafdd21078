"""Scopes form the right groups: 4 ranks on two "hosts" of one rack (named through
RACKQUAL_HOST and RACKQUAL_RACK, the documented seam for several hosts on one machine); 8 ranks
on simulated racks (--simulate); ranks placed by an inventory, and bad inventories refused."""
import re
import socket
import subprocess
import unittest

from harness import BIN, MPIEXEC, RANKS, RackqualTest, Run, run_folders

LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+): (?P<field>[^:\n]+): (?P<message>[^\n]+)$")

SUITE = """name: topology
platform: host
defaults: {repetitions: 3, min_time: 0.02s}
checks:
  - {id: gemm, kind: gemm, scope: gpu, params: {m: 64, n: 64, k: 64}}
  - {id: node, kind: allreduce, scope: node, params: {sizes: [64KiB]}}
  - {id: rack, kind: allreduce, scope: rack, params: {sizes: [64KiB]}}
  - {id: cluster, kind: allreduce, scope: cluster, params: {sizes: [64KiB]}}
"""

# Small sizes and few repetitions: 8 ranks share this machine's cores.
SIMULATED_SUITE = """name: simulated
platform: host
defaults: {repetitions: 2, min_time: 0.01s}
checks:
  - {id: gemm, kind: gemm, scope: gpu, params: {m: 32, n: 32, k: 32}}
  - {id: node, kind: allreduce, scope: node, params: {sizes: [16KiB]}}
  - {id: domain, kind: allreduce, scope: nvlink_domain, params: {sizes: [16KiB]}}
  - {id: rack, kind: allreduce, scope: rack, params: {sizes: [16KiB]}}
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
        before = run_folders(self.out)
        run = Run(subprocess.run(command, capture_output=True, text=True, timeout=300), self.out, before)
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
        self.assertEqual(run.manifest()["topology"]["source"], "launcher")
        self.assertEqual(run.manifest()["topology"]["racks"], {"rack-1": {"hosts": ["host-a", "host-b"], "leaf_switch": None}})

    def run_on_two_hosts(self, *args):
        """Runs rackqual ARGS on 2 + 2 ranks that report hosts host-a and host-b."""
        command = [MPIEXEC]
        for host in ("host-a", "host-b"):
            if len(command) > 1:
                command.append(":")
            command += ["-n", "2", "-env", "RACKQUAL_HOST", host, BIN, *args]
        before = run_folders(self.out)
        return Run(subprocess.run(command, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL),
                   self.out, before)

    def assert_one_line_error(self, run, path, line, field, words):
        self.assertEqual(run.code, 2, run.stderr)
        lines = run.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, run.stderr)
        match = LINE.match(lines[0])
        self.assertIsNotNone(match, lines[0])
        self.assertEqual((match["file"], int(match["line"]), match["field"]), (str(path), line, field), lines[0])
        self.assertIn(words, match["message"])
        self.assertIsNone(run.dir)   # nothing ran, nothing written

    def test_simulated_racks_and_hosts(self):
        """8 ranks as 2 racks x 2 hosts x 2 GPUs: each scope's groups are the simulated ones."""
        suite = self.write("topology.yaml", SIMULATED_SUITE)
        run = self.run_suite(suite, "--simulate", "2x2x2", ranks=8)
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        records = run.records()

        gemm = sorted((r["rank"], r["host"], r["rack"], r["device"]["index"]) for r in records if r["check"] == "gemm")
        self.assertEqual(gemm, [(0, "r0-h0", "r0", 0), (1, "r0-h0", "r0", 1), (2, "r0-h1", "r0", 0), (3, "r0-h1", "r0", 1),
                                (4, "r1-h0", "r1", 0), (5, "r1-h0", "r1", 1), (6, "r1-h1", "r1", 0), (7, "r1-h1", "r1", 1)])

        def groups(check):
            return sorted((r["group"], r["rank"], r["host"], r["rack"]) for r in records
                          if r["check"] == check and r["metric"] == "busbw_gbps")

        self.assertEqual(groups("rack"), [("r0", 0, "r0-h0", "r0"), ("r1", 4, "r1-h0", "r1")])
        self.assertEqual([g[0] for g in groups("node")], ["r0-h0", "r0-h1", "r1-h0", "r1-h1"])
        self.assertEqual([g[0] for g in groups("domain")], ["r0-h0", "r0-h1", "r1-h0", "r1-h1"])   # a host alone
        for r in records:
            if r["check"] == "rack" and r["metric"] == "busbw_gbps":
                self.assertIn("sum over 4 ranks", r["correct"]["detail"])
                self.assertEqual(r["verdict"], "pass")

        manifest = run.manifest()
        self.assertEqual(manifest["hosts"], ["r0-h0", "r0-h1", "r1-h0", "r1-h1"])
        self.assertEqual(manifest["backend"], "host")
        topology = manifest["topology"]
        self.assertEqual((topology["source"], topology["simulate"], topology["inventory"]), ("simulate", "2x2x2", None))
        self.assertEqual(topology["racks"], {"r0": {"hosts": ["r0-h0", "r0-h1"], "leaf_switch": None},
                                             "r1": {"hosts": ["r1-h0", "r1-h1"], "leaf_switch": None}})

    def test_simulation_needs_its_number_of_ranks_and_the_host_backend(self):
        suite = self.write("topology.yaml", SIMULATED_SUITE)
        run = self.run_suite(suite, "--simulate", "2x2x2")
        self.assertEqual(run.code, 2, run.stderr)
        self.assertEqual(run.stderr.strip(), f"rackqual: --simulate: 2x2x2 places 8 ranks, but the run has {RANKS} "
                                             f"(launch 8 ranks)")
        run = self.run_suite(suite, "--simulate", "2x2", ranks=None)
        self.assertEqual(run.code, 2, run.stderr)
        self.assertIn("--simulate: expected RACKSxHOSTSxGPUS", run.stderr)
        run = self.run_suite(suite, "--simulate", "1x1x1", "--backend", "cuda", ranks=None)
        self.assertEqual(run.code, 2, run.stderr)
        self.assertIn("--simulate: simulated hosts run the host backend", run.stderr)
        run = self.run_suite(suite, "--simulate", "1x1x1", "--inventory", "x.yaml", ranks=None)
        self.assertEqual(run.code, 2, run.stderr)
        self.assertIn("excludes", run.stderr)

    def test_inventory_places_ranks_on_its_racks_and_domains(self):
        inventory = self.write("cluster.yaml", """cluster: lab
racks:
  - name: r17
    leaf_switch: leaf-17
    nvlink_domain: nvl-r17
    hosts:
      - {name: host-a, gpus: 2}
      - {name: host-b, gpus: 2}
  - name: r18
    hosts: [{name: host-c, gpus: 8}]
""")
        suite = self.write("topology.yaml", SIMULATED_SUITE)
        run = self.run_on_two_hosts("run", str(suite), "--out", str(self.out), "--inventory", str(inventory))
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        records = run.records()
        for r in records:
            self.assertEqual(r["rack"], "r17", r)
        domain = sorted((r["group"], r["rank"]) for r in records if r["check"] == "domain" and r["metric"] == "busbw_gbps")
        self.assertEqual(domain, [("nvl-r17", 0)])
        topology = run.manifest()["topology"]
        self.assertEqual((topology["source"], topology["inventory"]), ("inventory", str(inventory)))
        self.assertEqual(topology["racks"], {"r17": {"hosts": ["host-a", "host-b"], "leaf_switch": "leaf-17"}})
        self.assertEqual(topology["nvlink_domains"], {"nvl-r17": ["host-a", "host-b"]})

    def test_bad_inventories_stop_every_rank_with_file_and_line(self):
        suite = self.write("topology.yaml", SIMULATED_SUITE)
        cases = {
            "host_twice": ("racks:\n  - name: r1\n    hosts:\n      - {name: host-a, gpus: 2}\n"
                           "      - {name: host-a, gpus: 2}\n", 5, "racks[r1].hosts[host-a]", "host listed twice (first at line 4)"),
            "rack_without_hosts": ("racks:\n  - name: r1\n    hosts: []\n", 3, "racks[r1].hosts", "rack r1 lists no hosts"),
            "host_missing": ("racks:\n  - name: r1\n    hosts: [{name: host-a, gpus: 2}]\n", 1, "racks",
                             "host not in the inventory: host-b (ranks 2, 3)"),
            "fewer_gpus": ("racks:\n  - name: r1\n    gpus: 2\n    hosts:\n      - host-a\n      - {name: host-b, gpus: 4}\n",
                           6, "racks[r1].hosts[host-b].gpus", "lists 4 GPUs on host-b but 2 ranks run there"),
        }
        for name, (text, line, field, words) in cases.items():
            with self.subTest(name):
                path = self.write(f"{name}.yaml", text)
                run = self.run_on_two_hosts("run", str(suite), "--out", str(self.out), "--inventory", str(path))
                self.assert_one_line_error(run, path, line, field, words)

    def test_this_machine_missing_from_the_inventory(self):
        path = self.write("other.yaml", "racks:\n  - name: r1\n    hosts: [{name: elsewhere-01, gpus: 8}]\n")
        run = self.run_suite(self.write("topology.yaml", SIMULATED_SUITE), "--inventory", str(path))
        ranks = ", ".join(str(r) for r in range(RANKS))
        self.assert_one_line_error(run, path, 1, "racks",
                                   f"host not in the inventory: {socket.gethostname()} (rank{'s' if RANKS > 1 else ''} {ranks})")


if __name__ == "__main__":
    unittest.main()
