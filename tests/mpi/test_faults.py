"""An error is never a pass: wrong results fail, failures to run and hangs are errors,
and a run killed halfway keeps every record it wrote."""
import json
import os
import signal
import subprocess
import time
import unittest

from harness import BIN, MPIEXEC, RANKS, RackqualTest

SUITE = """name: faults
platform: host
defaults: {repetitions: 3, min_time: 0.02s, deadline: 60s}
checks:
  - id: gemm
    kind: gemm
    params: {m: 128, n: 128, k: 128, dtype: fp64}
    criteria:
      tflops: {min: 1e-6}
  - id: triad
    kind: hbm
    params: {op: triad, bytes: 8MiB}
  - id: allreduce
    kind: allreduce
    scope: node
    params: {sizes: [64KiB]}
    deadline: %s
"""


class Faults(RackqualTest):
    def suite(self, deadline="60s"):
        return self.write("faults.yaml", SUITE % deadline)

    def test_wrong_result_fails_even_when_fast(self):
        last = RANKS - 1
        run = self.run_suite(self.suite(), "--fault", f"gemm:{last}:wrong", "--fault", "allreduce:0:wrong")
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        for r in run.records():
            wrong = (r["check"] == "gemm" and r["rank"] == last) or r["check"] == "allreduce"
            self.assertEqual(r["verdict"], "fail" if wrong else "pass", r)
            self.assertEqual(r["correct"]["ok"], not wrong, r)
            if wrong:
                self.assertIn("incorrect result", r["reason"])
                self.assertIn(f"rank {last if r['check'] == 'gemm' else 0} ", r["reason"])
        self.assertEqual(run.manifest()["exit_status"], 1)

    def test_failure_to_prepare_is_an_error_naming_the_rank(self):
        run = self.run_suite(self.suite(), "--fault", "allreduce:1:error")
        self.assertEqual(run.code, 3, run.stdout + run.stderr)
        errors = [r for r in run.records() if r["verdict"] == "error"]
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["check"], "allreduce")
        self.assertIn("rank 1 ", errors[0]["reason"])
        self.assertIsNone(errors[0]["value"])
        self.assertTrue(all(r["verdict"] == "pass" for r in run.records() if r["check"] != "allreduce"))

    def test_failure_inside_a_timed_sample_is_an_error_naming_the_rank_and_the_run_goes_on(self):
        # Rank 1 throws inside its first timed sample (Google Benchmark's repetitions, every rank
        # aligned): its group stops at that sample and the next check runs, long before the deadline.
        suite = self.write("sample.yaml", SUITE % "60s" + "  - id: after\n    kind: hbm\n    params: {op: triad, bytes: 8MiB}\n")
        started = time.monotonic()
        run = self.run_suite(suite, "--fault", "allreduce:1:sample_error", timeout=120)
        self.assertLess(time.monotonic() - started, 30)
        self.assertEqual(run.code, 3, run.stdout + run.stderr)
        records = run.records()
        failed = [r for r in records if r["check"] == "allreduce"]
        self.assertEqual([r["verdict"] for r in failed], ["error"])
        self.assertIn("rank 1 (", failed[0]["reason"])
        self.assertIn("injected fault: a timed sample failed", failed[0]["reason"])
        self.assertNotIn("rank 0 (", failed[0]["reason"])   # the others stopped with it, without complaint
        self.assertIsNone(failed[0]["value"])
        self.assertEqual({r["check"] for r in records if r["verdict"] == "pass"}, {"gemm", "triad", "after"})
        self.assertEqual(len([r for r in records if r["check"] == "after"]), RANKS)
        manifest = run.manifest()
        self.assertEqual((manifest["status"], manifest["exit_status"]), ("finished", 3))

    def test_hang_becomes_an_error_naming_the_rank_that_did_not_arrive(self):
        # The rank is excluded and the run goes on over the others (here: nothing is left).
        started = time.monotonic()
        run = self.run_suite(self.suite("3s"), "--fault", f"allreduce:{RANKS - 1}:hang", timeout=120)
        self.assertLess(time.monotonic() - started, 60)
        self.assertEqual(run.code, 3, run.stdout + run.stderr)
        records = run.records()
        self.assertEqual({r["check"] for r in records if r["verdict"] == "pass"}, {"gemm", "triad"})
        hung = [r for r in records if r["check"] == "allreduce"]
        self.assertEqual(len(hung), 1)
        self.assertEqual((hung[0]["verdict"], hung[0]["rank"]), ("error", RANKS - 1))
        self.assertIn(f"rank {RANKS - 1} did not arrive", hung[0]["reason"])
        self.assertIn("never arrived and is excluded", hung[0]["reason"])
        manifest = run.manifest()
        self.assertEqual((manifest["status"], manifest["exit_status"]), ("finished", 3))

    def test_a_hang_of_rank_0_ends_the_run_with_every_record(self):
        # Rank 0 holds the records: without it the run cannot go on, and ends as an error.
        run = self.run_suite(self.suite("3s"), "--fault", "allreduce:0:hang", timeout=120)
        self.assertEqual(run.code, 3, run.stdout + run.stderr)
        records = run.records()
        self.assertEqual({r["check"] for r in records if r["verdict"] == "pass"}, {"gemm", "triad"})
        hung = [r for r in records if r["check"] == "allreduce"]
        self.assertEqual([r["verdict"] for r in hung], ["error"])
        self.assertIn("rank 0 did not arrive", hung[0]["reason"])
        manifest = run.manifest()
        self.assertEqual((manifest["status"], manifest["exit_status"]), ("aborted", 3))

    def test_a_rank_with_corrupt_weights_fails_the_training_step(self):
        suite = self.write("step.yaml", "name: step\nplatform: host\ndefaults: {repetitions: 3, min_time: 0.02s}\nchecks:\n"
                                        "  - id: step\n    kind: transformer_step\n    scope: node\n"
                                        "    params: {hidden: 32, heads: 2, seq: 16, micro_batch: 2, layers: 1, vocab: 64}\n")
        run = self.run_suite(suite, "--fault", f"step:{RANKS - 1}:wrong")
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        records = run.records()
        self.assertTrue(records and all(r["verdict"] == "fail" and not r["correct"]["ok"] for r in records))
        self.assertIn(f"rank {RANKS - 1} ", records[0]["reason"])
        self.assertIn("weights differ across ranks", records[0]["reason"])

    def test_killed_run_keeps_every_record_written_before(self):
        suite = self.write("long.yaml", "name: long\nplatform: host\ndefaults: {repetitions: 3, min_time: 0.02s}\nchecks:\n"
                                        "  - {id: first, kind: gemm, params: {m: 64, n: 64, k: 64}}\n"
                                        "  - {id: second, kind: gemm, params: {m: 64, n: 64, k: 64}}\n"
                                        "  - {id: stuck, kind: allreduce, scope: node, params: {sizes: [4KiB]}, deadline: 1h}\n")
        proc = subprocess.Popen([MPIEXEC, "-n", str(RANKS), BIN, "run", str(suite), "--out", str(self.out),
                                 "--fault", "stuck:0:hang"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            records = []
            while time.monotonic() < deadline and len(records) < 2 * RANKS:
                time.sleep(0.1)
                files = list(self.out.glob("*/records.jsonl"))
                records = files[0].read_text().splitlines() if files else []
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        text = next(self.out.glob("*/records.jsonl")).read_text()
        self.assertTrue(text.endswith("\n"))
        parsed = [json.loads(line) for line in text.splitlines()]
        self.assertEqual(sorted((r["check"], r["rank"]) for r in parsed),
                         sorted((c, rank) for c in ("first", "second") for rank in range(RANKS)))
        manifest = json.loads(next(self.out.glob("*/manifest.json")).read_text())
        self.assertEqual(manifest["status"], "running")   # a reader can tell the run never finished


if __name__ == "__main__":
    unittest.main()
