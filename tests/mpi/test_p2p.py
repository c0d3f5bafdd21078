"""The p2p kind end to end on RANKS ranks: neighbours on a ring exchange in both directions, every
byte arrives as sent, the figures follow from the time, its tail is gated, and a corrupted byte
fails the check naming the rank that received it and the rank that sent it."""
import unittest

from harness import RANKS, RackqualTest

SIZES = [1, 4096 + 3, 1 << 20]   # a single byte, a size that is no whole number of words, 1 MiB

SUITE = """name: p2p
platform: host
defaults: {repetitions: 21, min_time: 0.01s, deadline: 120s}
checks:
  - id: pair
    kind: p2p
    scope: node
    params: {sizes: [1, 4099, 1MiB]}
    criteria:
      time_p95_us: {max: 1e7, at: 4099}
      bandwidth_gbps: {min: 1e-4, at: 1MiB}
"""


class P2p(RackqualTest):
    def test_every_byte_arrives_and_the_figures_follow_from_the_time(self):
        run = self.run_suite(self.write("p2p.yaml", SUITE))
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        records = run.records()
        self.assertEqual(len(records), len(SIZES) * 4)   # one group figure per size and metric
        left, right = RANKS - 1, 1 % RANKS
        for size in SIZES:
            point = {r["metric"]: r for r in records if r["params"]["sizes"] == [size]}
            self.assertEqual(set(point), {"time_us", "time_p95_us", "bandwidth_gbps", "bidirectional_gbps"})
            for r in point.values():
                self.assertEqual((r["kind"], r["scope"], r["rank"], r["verdict"]), ("p2p", "node", 0, "pass"), r)
                self.assertTrue(r["correct"]["ok"], r)
                self.assertEqual(r["stats"]["n"], 21)
                self.assertGreater(r["value"], 0)
            detail = point["time_us"]["correct"]["detail"]
            if RANKS == 2:
                self.assertEqual(detail, f"every byte of 2 x {size} from rank 1 as it sent them")
            else:
                self.assertEqual(detail, f"every byte of {size} from rank {left} (left) and of {size} from rank {right} (right) as sent")
            # 21 repetitions: the median of each figure is that of the median time. Each rank sends
            # `size` to each neighbour in turn per launch.
            seconds = point["time_us"]["value"] * 1e-6
            bandwidth = point["bandwidth_gbps"]["value"]
            self.assertAlmostEqual(bandwidth, 2 * size / seconds / 1e9, delta=1e-9 * bandwidth)
            self.assertAlmostEqual(point["bidirectional_gbps"]["value"], 2 * bandwidth, delta=1e-9 * bandwidth)
            # The tail: the 95th percentile of the same samples, at or above their median.
            tail = point["time_p95_us"]
            self.assertEqual(tail["value"], tail["stats"]["p95"])
            self.assertEqual(tail["stats"]["median"], point["time_us"]["value"])
            self.assertGreaterEqual(tail["value"], point["time_us"]["value"])
            self.assertLessEqual(tail["value"], tail["stats"]["max"])
        gated = sorted((r["metric"], r["params"]["sizes"][0]) for r in records if r["criterion"])
        self.assertEqual(gated, [("bandwidth_gbps", 1 << 20), ("time_p95_us", 4099)])

    def test_a_corrupted_byte_fails_naming_receiver_and_sender(self):
        receiver = RANKS - 1
        sender = (receiver + RANKS - 1) % RANKS   # its left neighbour: the first shift's sender
        run = self.run_suite(self.write("p2p.yaml", SUITE), "--fault", f"pair:{receiver}:wrong")
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        records = run.records()
        self.assertEqual(len(records), len(SIZES) * 4)
        for r in records:
            self.assertEqual(r["verdict"], "fail", r)
            self.assertFalse(r["correct"]["ok"], r)
            self.assertIn("incorrect result", r["reason"])
            self.assertIn(f"rank {receiver} (", r["reason"])
            side = "first shift" if RANKS == 2 else "left"
            self.assertIn(f"1 of {r['params']['sizes'][0]} bytes from rank {sender} ({side}) wrong", r["reason"])
        self.assertEqual(run.manifest()["exit_status"], 1)

    def test_a_tail_gate_that_the_time_exceeds_fails(self):
        suite = SUITE.replace("time_p95_us: {max: 1e7, at: 4099}", "time_p95_us: {max: 1e-3, at: 4099}")
        run = self.run_suite(self.write("p2p.yaml", suite))
        self.assertEqual(run.code, 1, run.stdout + run.stderr)
        # Isolation probes the group too (its records carry `isolation`); here every subset fails alike.
        failed = [r for r in run.records() if r["verdict"] != "pass" and r["isolation"] is None]
        self.assertEqual([(r["metric"], r["params"]["sizes"], r["verdict"]) for r in failed],
                         [("time_p95_us", [4099], "fail")])
        self.assertIn("> max 0.001", failed[0]["reason"])


if __name__ == "__main__":
    unittest.main()
