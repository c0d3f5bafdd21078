"""Racks under test on one machine: 8 ranks placed on 2 racks x 2 hosts x 2 GPUs (--simulate),
with the documented drills: a slow host, a slow link, two slow hosts, a rank that never
arrives, and a rank whose output differs in one element. Each names what is broken and
nothing else."""
import unittest

from harness import RackqualTest

RANKS = 8
SIMULATE = ("--simulate", "2x2x2")   # hosts r0-h0, r0-h1 in rack r0; r1-h0, r1-h1 in rack r1

# A 16 MiB all-reduce over all 8 ranks: bandwidth-bound, so every subset isolation probes
# (whatever its size) measures about the same busbw; a slowed host or link takes 20 times as
# long, far under the floor, while the ranks sharing this machine's cores stay far above it.
ISOLATE = """name: racks
platform: host
defaults: {repetitions: 3, min_time: 0.02s, deadline: 300s}
checks:
  - id: cluster-reduce
    kind: allreduce
    scope: cluster
    params: {sizes: [16MiB]}
    criteria:
      busbw_gbps: {min: 0.07}
"""

LADDER = """name: ladder
platform: host
defaults: {repetitions: 2, min_time: 0.01s, deadline: 120s}
checks:
  - id: gemm
    kind: gemm
    params: {m: 96, n: 64, k: 128, dtype: fp64, consensus: "true"}
  - id: rack-reduce
    kind: allreduce
    scope: rack
    params: {sizes: [64KiB]}
    deadline: 5s
  - id: triad
    kind: hbm
    params: {op: triad, bytes: 1MiB}
  - id: cluster-reduce
    kind: allreduce
    scope: cluster
    params: {sizes: [64KiB]}
"""


def culprits(records):
    """The culprits a run named: ('slow_member', HOST) or ('slow_link', A, B)."""
    out = []
    for r in records:
        iso = r.get("isolation") or {}
        if "culprit" in iso:
            out.append((iso["culprit"], iso["member"], iso["peer"]) if "peer" in iso else (iso["culprit"], iso["member"]))
    return sorted(out)


class Racks(RackqualTest):
    def isolate(self, *drills):
        run = self.run_suite(self.write("racks.yaml", ISOLATE), *SIMULATE, *drills, ranks=RANKS, timeout=600)
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        records = run.records()
        probes = [r for r in records if (r.get("isolation") or {}).get("probe") and r["metric"] == "busbw_gbps"]
        self.assertTrue(probes)
        for p in probes:   # each probe as a crew would repeat it: who, what figure, what verdict
            self.assertTrue(p["isolation"]["members"], p)
            self.assertIsInstance(p["value"], float, p)
            self.assertEqual(p["verdict"] == "pass", p["isolation"]["outcome"] == "pass", p)
        for r in records:
            if "culprit" in (r.get("isolation") or {}):
                self.assertEqual(r["verdict"], "fail", r)
                self.assertIn("confirmed by probe", r["reason"])
        return records

    def test_the_slowed_host_is_named_and_nothing_else(self):
        records = self.isolate("--slow-host", "r1-h0=20")
        self.assertEqual(culprits(records), [("slow_member", "r1-h0")])

    def test_a_slow_link_is_named_as_a_link_not_as_either_host(self):
        records = self.isolate("--slow-link", "r0-h0,r1-h1=20")
        self.assertEqual(culprits(records), [("slow_link", "r0-h0", "r1-h1")])

    def test_two_slowed_hosts_are_both_named(self):
        records = self.isolate("--slow-host", "r0-h1=20", "--slow-host", "r1-h1=20")
        self.assertEqual(culprits(records), [("slow_member", "r0-h1"), ("slow_member", "r1-h1")])

    def test_a_rank_that_never_arrives_is_named_and_the_others_go_on(self):
        run = self.run_suite(self.write("ladder.yaml", LADDER), *SIMULATE, "--fault", "rack-reduce:5:hang",
                             ranks=RANKS, timeout=300)
        self.assertEqual(run.code, 3, run.stdout + run.stderr)
        records = run.records()
        by_check = {}
        for r in records:
            by_check.setdefault(r["check"], []).append(r)
        # Before it: every rank's figure. At it: an error naming rank 5. After it: the seven others.
        self.assertEqual(sorted(r["rank"] for r in by_check["gemm"]), list(range(RANKS)))
        hung = [r for r in by_check["rack-reduce"] if r["verdict"] == "error"]
        self.assertEqual([(r["rank"], r["host"], r["rack"]) for r in hung], [(5, "r1-h0", "r1")])
        self.assertIn("never arrived", hung[0]["reason"])
        triad = by_check["triad"]
        self.assertEqual(sorted(r["rank"] for r in triad if r["verdict"] == "pass"), [0, 1, 2, 3, 4, 6, 7])
        self.assertEqual([(r["rank"], r["verdict"]) for r in triad if r["rank"] == 5], [(5, "error")])
        cluster = [r for r in by_check["cluster-reduce"] if r["metric"] == "busbw_gbps"]
        self.assertEqual(len(cluster), 1)
        self.assertIn("sum over 7 ranks", cluster[0]["correct"]["detail"])
        self.assertEqual(run.manifest()["exit_status"], 3)

    def test_the_corrupted_rank_loses_the_vote_and_only_it_fails(self):
        run = self.run_suite(self.write("ladder.yaml", LADDER), *SIMULATE, "--only", "gemm", "--fault", "gemm:6:corrupt",
                             ranks=RANKS, timeout=300)
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        failed = [(r["rank"], r["host"]) for r in run.records() if r["verdict"] != "pass"]
        self.assertEqual(failed, [(6, "r1-h1")])
        self.assertIn("7 of 8", next(r for r in run.records() if r["rank"] == 6)["reason"])


if __name__ == "__main__":
    unittest.main()
