"""suites/smoke.yaml end to end on RANKS ranks: every check runs, passes, and is recorded."""
import unittest

from harness import RANKS, ROOT, RackqualTest


def manifest_peak(run, key):
    return run.manifest()["platform_peaks"][key]


class SmokeSuite(RackqualTest):
    def test_smoke_suite_passes_and_records_every_figure(self):
        run = self.run_suite(ROOT / "suites" / "smoke.yaml", "--backend", "host")
        self.assertEqual(run.code, 0, run.stdout + run.stderr)
        records = run.records()
        by_check = {}
        for r in records:
            self.assertEqual(r["schema"], 1)
            self.assertEqual(r["verdict"], "pass", r)
            self.assertTrue(r["correct"]["ok"], r)
            self.assertEqual(r["backend"], "host")
            self.assertGreater(r["value"], 0)
            # The tail latency is the p95 of the samples time_us stands on; every other figure their median.
            self.assertEqual(r["value"], r["stats"]["p95" if r["metric"] == "time_p95_us" else "median"])
            self.assertLessEqual(r["stats"]["min"], r["stats"]["p10"])
            self.assertLessEqual(r["stats"]["p90"], r["stats"]["p95"])
            self.assertLessEqual(r["stats"]["p95"], r["stats"]["max"])
            by_check.setdefault(r["check"], []).append(r)
        self.assertEqual(set(by_check),
                         {"gemm-fp32", "gemm-fp64", "hbm-copy", "hbm-triad", "allreduce-node", "p2p-node",
                          "transformer-step"})

        # Per-GPU checks: one record from every rank, each naming its device.
        for check in ("gemm-fp32", "gemm-fp64", "hbm-copy", "hbm-triad"):
            self.assertEqual(sorted(r["rank"] for r in by_check[check]), list(range(RANKS)), check)
            self.assertTrue(all(r["device"] is not None and r["scope"] == "gpu" for r in by_check[check]))

        # The node all-reduce: one group figure per size and metric; busbw = algbw * 2(n-1)/n.
        allreduce = by_check["allreduce-node"]
        self.assertEqual(len(allreduce), 2 * 4)
        for size in (64 * 1024, 4 * 1024 * 1024):
            point = {r["metric"]: r for r in allreduce if r["params"]["sizes"] == [size]}
            self.assertEqual(set(point), {"time_us", "time_p95_us", "algbw_gbps", "busbw_gbps"})
            self.assertGreaterEqual(point["time_p95_us"]["value"], point["time_us"]["value"])
            algbw, busbw = point["algbw_gbps"]["value"], point["busbw_gbps"]["value"]
            self.assertAlmostEqual(busbw, algbw * 2 * (RANKS - 1) / RANKS, delta=1e-9 * algbw)
            self.assertIn(f"sum over {RANKS} ranks", point["busbw_gbps"]["correct"]["detail"])
        criterion = [r for r in allreduce if r["criterion"]]
        self.assertEqual([(r["metric"], r["params"]["sizes"]) for r in criterion], [("busbw_gbps", [4194304])])

        # Point to point: one group figure per metric; every byte from the neighbours checked.
        p2p = {r["metric"]: r for r in by_check["p2p-node"]}
        self.assertEqual(set(p2p), {"time_us", "time_p95_us", "bandwidth_gbps", "bidirectional_gbps"})
        self.assertIn("every byte of ", p2p["bandwidth_gbps"]["correct"]["detail"])
        self.assertAlmostEqual(p2p["bandwidth_gbps"]["value"], 2 * (1 << 20) / p2p["time_us"]["value"] / 1e3,
                               delta=1e-9 * p2p["bandwidth_gbps"]["value"])

        # The training step: one group figure per metric; data-parallel ranks end with identical weights.
        step = {r["metric"]: r for r in by_check["transformer-step"]}
        self.assertEqual(set(step), {"step_time_s", "tokens_per_s", "model_tflops", "mfu", "forward_s", "backward_s",
                                     "allreduce_s", "optimizer_s"})
        self.assertIn(f"weights identical on {RANKS} ranks", step["step_time_s"]["correct"]["detail"])
        self.assertAlmostEqual(step["tokens_per_s"]["value"], 2 * 64 * RANKS / step["step_time_s"]["value"],
                               delta=1e-6 * step["tokens_per_s"]["value"])
        self.assertAlmostEqual(step["mfu"]["value"], step["model_tflops"]["value"] / manifest_peak(run, "tflops_fp32"),
                               delta=1e-9)
        phases = sum(step[f"{p}_s"]["value"] for p in ("forward", "backward", "allreduce", "optimizer"))
        self.assertTrue(0.5 < phases / step["step_time_s"]["value"] < 1.3, (phases, step["step_time_s"]["value"]))

        manifest = run.manifest()
        self.assertEqual((manifest["status"], manifest["exit_status"], manifest["ranks"]), ("finished", 0, RANKS))
        self.assertEqual(manifest["run_id"], records[0]["run_id"])
        self.assertIn("mpi", manifest["versions"])
        self.assertIn("verdict", run.stdout)   # the console table
        self.assertIn("[7/7] transformer-step pass", run.stderr)   # one progress line per check off a terminal


if __name__ == "__main__":
    unittest.main()
