"""rackqual under a real Slurm (tests/slurm/cluster.sh: munged, slurmctld and slurmd from
Debian's packages): the smoke suite through srun --mpi=pmi2 (MPICH's PMI) and through sbatch,
the rack qualification template, and rackqual health draining a node through scontrol."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import BIN, ROOT, RackqualTest

CLUSTER = ROOT / "tests" / "slurm" / "cluster.sh"
NODE = "rq-n1"
SMOKE = ROOT / "suites" / "smoke.yaml"

LADDER = """name: ladder
platform: host
defaults: {repetitions: 2, min_time: 0.01s, deadline: 60s}
checks:
  - id: gemm
    kind: gemm
    params: {m: 64, n: 64, k: 64, dtype: fp64}
  - id: node-reduce
    kind: allreduce
    scope: node
    params: {sizes: [64KiB]}
"""

INVENTORY = f"""cluster: test
racks:
  - name: r1
    hosts:
      - {{name: {NODE}, gpus: 2}}
"""

HEALTH = """name: quick-health
platform: host
defaults: {repetitions: 3, min_time: 0.02s, deadline: 60s}
checks:
  - id: gemm
    kind: gemm
    params: {m: 128, n: 128, k: 128, dtype: fp64}
"""


class Slurm(RackqualTest):
    @classmethod
    def setUpClass(cls):
        cls.cluster = pathlib.Path(tempfile.mkdtemp(prefix="rackqual-slurm-"))
        cls.addClassCleanup(shutil.rmtree, cls.cluster, True)
        cls.addClassCleanup(subprocess.run, ["bash", str(CLUSTER), "stop", str(cls.cluster)], timeout=60)
        started = subprocess.run(["bash", str(CLUSTER), "start", str(cls.cluster), NODE], capture_output=True, text=True,
                                 timeout=120)
        if started.returncode != 0:
            raise RuntimeError(f"the test cluster did not start:\n{started.stdout}{started.stderr}")
        cls.env = {"SLURM_CONF": str(cls.cluster / "slurm.conf")}

    def slurm(self, *command, timeout=300):
        return subprocess.run(["timeout", str(timeout), *map(str, command)], capture_output=True, text=True,
                              env={**os.environ, **self.env}, cwd=self.tmp, stdin=subprocess.DEVNULL)

    def node_state(self):
        shown = self.slurm("scontrol", "-o", "show", "node", NODE, timeout=30).stdout
        fields = dict(f.split("=", 1) for f in shown.split() if "=" in f)
        return fields.get("State", ""), shown.split("Reason=", 1)[1].split(" [")[0] if "Reason=" in shown else ""

    def test_srun_runs_the_smoke_suite_over_pmi2(self):
        p = self.slurm("srun", "--mpi=pmi2", "-n", "2", BIN, "run", SMOKE, "--backend", "host", "--out", self.out)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        (run,) = self.out.iterdir()
        lines = (run / "records.jsonl").read_text().splitlines()
        records = [json.loads(line) for line in lines]
        self.assertEqual({r["check"] for r in records},
                         {"gemm-fp32", "gemm-fp64", "hbm-copy", "hbm-triad", "allreduce-node", "p2p-node",
                          "transformer-step"})
        self.assertEqual({r["rank"] for r in records if r["check"] == "gemm-fp32"}, {0, 1})
        # One node of two ranks, named as Slurm names it, which is what scontrol drains.
        self.assertEqual({r["host"] for r in records}, {NODE})
        self.assertTrue(all(r["verdict"] == "pass" for r in records), [r["reason"] for r in records])
        manifest = json.loads((run / "manifest.json").read_text())
        self.assertEqual((manifest["ranks"], manifest["hosts"], manifest["status"]), (2, [NODE], "finished"))

    def test_sbatch_qualifies_a_rack_with_the_template(self):
        (self.tmp / "ladder.yaml").write_text(LADDER)
        (self.tmp / "inventory.yaml").write_text(INVENTORY)
        exports = ",".join(["ALL", "RACK=r1", f"INVENTORY={self.tmp / 'inventory.yaml'}", f"RESULTS={self.out}",
                            f"SUITE={self.tmp / 'ladder.yaml'}", f"RACKQUAL={BIN}"])
        p = self.slurm("sbatch", "--wait", "--nodelist", NODE, "--ntasks-per-node", "2", "--export", exports,
                       "--output", self.tmp / "job.out", ROOT / "suites" / "slurm" / "qualify-rack.sbatch")
        job_out = (self.tmp / "job.out").read_text() if (self.tmp / "job.out").exists() else ""
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + job_out)
        (run,) = self.out.iterdir()
        records = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
        verdicts = [r for r in records if r["check"] == "qualify"]
        self.assertEqual([r["verdict"] for r in verdicts if r["scope"] == "rack"], ["pass"])
        self.assertIn("rack r1 qualified", [r["reason"] for r in verdicts if r["scope"] == "rack"][0])

    def test_sbatch_runs_the_smoke_suite_with_the_nightly_template(self):
        (self.tmp / "inventory.yaml").write_text(INVENTORY)
        exports = ",".join(["ALL", f"SUITE={SMOKE}", f"INVENTORY={self.tmp / 'inventory.yaml'}", f"RESULTS={self.out}",
                            f"RACKQUAL={BIN}", "RUN_ARGS=--backend host"])
        p = self.slurm("sbatch", "--wait", "--nodelist", NODE, "--ntasks-per-node", "2", "--export", exports,
                       "--output", self.tmp / "job.out", ROOT / "suites" / "slurm" / "nightly.sbatch")
        job_out = (self.tmp / "job.out").read_text() if (self.tmp / "job.out").exists() else ""
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr + job_out)
        (run,) = self.out.iterdir()
        records = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
        self.assertEqual(len({r["check"] for r in records}), 7)
        self.assertEqual({(r["host"], r["rack"]) for r in records}, {(NODE, "r1")})
        self.assertEqual({r["rank"] for r in records if r["scope"] == "gpu"}, {0, 1})
        self.assertTrue(all(r["verdict"] == "pass" for r in records), [r["reason"] for r in records])
        self.assertIn("records:", job_out)

    def test_the_template_names_what_is_missing(self):
        p = self.slurm("sbatch", "--wait", "--nodelist", NODE, "--export", "ALL,RACK=r1", "--output",
                       self.tmp / "job.out", ROOT / "suites" / "slurm" / "qualify-rack.sbatch")
        self.assertEqual(p.returncode, 2)
        self.assertIn("INVENTORY is not set", (self.tmp / "job.out").read_text())

    def health(self, *args, suite=None):
        (self.tmp / "health.yaml").write_text(HEALTH)
        return self.slurm(BIN, "health", "--backend", "host", "--suite", suite or self.tmp / "health.yaml", "--node",
                          NODE, "--drain", *args, timeout=120)

    def test_health_drains_an_unhealthy_node_with_the_check_as_reason_and_resumes_it(self):
        p = self.health("--fault", "gemm:1:wrong")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        state, reason = self.node_state()
        self.assertIn("DRAIN", state)
        self.assertRegex(reason, rf"^rackqual health: gemm {NODE} gpu 1: ")
        p = self.health()
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("resumed", p.stdout)
        self.assertNotIn("DRAIN", self.node_state()[0])

    def test_health_never_drains_a_node_it_could_not_assess(self):
        for args, suite, code in [((), ROOT / "no-such-suite.yaml", 2), (("--fault", "gemm:0:error"), None, 3)]:
            p = self.health(*args, suite=suite)
            self.assertEqual(p.returncode, code, p.stdout + p.stderr)
            self.assertNotIn("DRAIN", self.node_state()[0])

    def test_health_leaves_a_node_drained_by_someone_else(self):
        self.slurm("scontrol", "update", f"NodeName={NODE}", "State=DRAIN", "Reason=cable swap", timeout=30)
        try:
            p = self.health()
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(self.node_state()[1], "cable swap")
        finally:
            self.slurm("scontrol", "update", f"NodeName={NODE}", "State=RESUME", timeout=30)


class HealthCheckProgram(unittest.TestCase):
    """slurmd itself runs suites/slurm/healthcheck.sh every few seconds, as a site would configure it."""

    def test_slurmd_drains_a_node_whose_health_check_fails_and_resumes_it_when_healthy(self):
        tmp = pathlib.Path(tempfile.mkdtemp(prefix="rackqual-healthcheck-"))
        self.addCleanup(shutil.rmtree, tmp, True)
        cluster, sick = tmp / "cluster", tmp / "sick"
        (tmp / "health.yaml").write_text(HEALTH)
        # The node turns sick while the marker exists: its second GPU's GEMM computes wrong.
        program = tmp / "check.sh"
        program.write_text(f"""#!/bin/bash
export SLURM_CONF={cluster}/slurm.conf RACKQUAL={BIN}
fault=(); if [ -e {sick} ]; then fault=(--fault gemm:1:wrong); fi
exec {ROOT}/suites/slurm/healthcheck.sh --backend host --suite {tmp}/health.yaml --node {NODE} "${{fault[@]}}" \\
  >> {tmp}/check.log 2>&1
""")
        program.chmod(0o755)
        self.addCleanup(subprocess.run, ["bash", str(CLUSTER), "stop", str(cluster)], timeout=60)
        env = {**os.environ, "HEALTH_CHECK_PROGRAM": str(program), "HEALTH_CHECK_INTERVAL": "3"}
        started = subprocess.run(["bash", str(CLUSTER), "start", str(cluster), NODE], capture_output=True, text=True,
                                 timeout=120, env=env)
        self.assertEqual(started.returncode, 0, started.stdout + started.stderr)
        slurm_env = {**os.environ, "SLURM_CONF": str(cluster / "slurm.conf")}

        def state_until(wanted, timeout=90):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                shown = subprocess.run(["scontrol", "-o", "show", "node", NODE], capture_output=True, text=True,
                                       env=slurm_env, timeout=30).stdout
                state = shown.split("State=", 1)[1].split()[0] if "State=" in shown else ""
                if wanted(state):
                    return shown
                time.sleep(1)
            log = (tmp / "check.log").read_text() if (tmp / "check.log").exists() else "(no log)"
            self.fail(f"node {NODE} never reached the state wanted; last: {shown}\n{log}")

        sick.touch()
        shown = state_until(lambda state: "DRAIN" in state)
        self.assertRegex(shown, rf"Reason=rackqual health: gemm {NODE} gpu 1: ")
        sick.unlink()
        state_until(lambda state: "DRAIN" not in state and state.startswith("IDLE"))


if __name__ == "__main__":
    unittest.main()
