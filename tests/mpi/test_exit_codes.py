"""Exit codes, the same for run, check and judge: 0 pass, 1 fail, 2 bad input or could not
assess (before measuring), 3 a check errored or hung while running."""
import unittest

from harness import RackqualTest

CHECK = "  - {id: g, kind: gemm, params: {m: 64, n: 64, k: 64}, repetitions: 1, min_time: 0.001s"
PASSING = "name: s\nplatform: host\nchecks:\n" + CHECK + "}\n"
FAILING = "name: s\nplatform: host\nchecks:\n" + CHECK + ", criteria: {tflops: {min: 1e9}}}\n"


class ExitCodes(RackqualTest):
    def setUp(self):
        super().setUp()
        self.passing = self.write("passing.yaml", PASSING)
        self.failing = self.write("failing.yaml", FAILING)

    def judge(self, records, suite):
        return self.rackqual("judge", str(records), "--suite", str(suite), ranks=None).code

    def test_run_check_and_judge_agree(self):
        passed = self.run_suite(self.passing, "--backend", "host")
        self.assertEqual(passed.code, 0, passed.stderr)
        records = passed.dir / "records.jsonl"
        self.assertEqual(self.judge(records, self.passing), 0)
        self.assertEqual(self.judge(records, self.failing), 1)
        self.assertEqual(self.run_suite(self.failing, "--backend", "host").code, 1)
        self.assertEqual(self.rackqual("check", str(self.passing), ranks=None).code, 0)

        errored = self.run_suite(self.passing, "--backend", "host", "--fault", "g:1:error")
        self.assertEqual(errored.code, 3, errored.stderr)
        self.assertEqual(self.judge(errored.dir / "records.jsonl", self.passing), 3)

    def test_nothing_assessed_is_2(self):
        empty = self.write("empty.jsonl", "")
        self.assertEqual(self.judge(empty, self.passing), 2)
        self.assertEqual(self.judge(self.tmp, self.passing), 2)   # a folder, not a records file
        self.assertEqual(self.judge(self.tmp / "absent.jsonl", self.passing), 2)
        bad = self.write("bad.yaml", "name: s\nchecks:\n  - {id: g, kind: matmul}\n")
        self.assertEqual(self.rackqual("check", str(bad), ranks=None).code, 2)
        self.assertEqual(self.run_suite(bad).code, 2)
        self.assertEqual(self.rackqual("check", str(self.passing), "--platform", "tpu", ranks=None).code, 2)
        self.assertEqual(self.rackqual("run", ranks=None).code, 2)   # no suite named


if __name__ == "__main__":
    unittest.main()
