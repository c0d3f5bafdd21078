// Planning: criteria resolved to absolute bounds per point when the suite loads, peaks checked
// with their units.
#include "rackqual/plan/plan.hpp"

#include <gtest/gtest.h>

#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/judge/judge.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

class PlanTest : public ::testing::Test {
 protected:
  Platform platform(const std::string& peaks, const std::string& defaults = "") {
    return load_platform(dir_.write("lab.yaml", "name: lab\npeaks:\n" + peaks + (defaults.empty() ? "" : "defaults:\n" + defaults)));
  }
  Suite suite(const std::string& checks) { return load_suite(dir_.write("s.yaml", "name: s\nchecks:\n" + checks)); }
  unit::TempDir dir_;
};

TEST_F(PlanTest, FractionsOfPeakBecomeAbsoluteBoundsPerPoint) {
  const auto lab = platform("  busbw_gbps: {value: 400, unit: GB/s, source: test}\n");
  const auto s = suite(R"(  - id: ar
    kind: allreduce
    scope: node
    params: {sizes: [1MiB, 1GiB]}
    criteria:
      busbw_gbps: {min_fraction_of_peak: 0.5, warn_below_fraction_of_peak: 0.75, at: 1GiB}
      time_us: {max: 100, at: 1MiB}
)");
  const auto plans = plan_suite(s, lab);
  ASSERT_EQ(plans.size(), 1u);
  ASSERT_EQ(plans[0].points.size(), 2u);
  const PointPlan& small = plans[0].points[0];
  const PointPlan& large = plans[0].points[1];
  EXPECT_EQ(small.bounds.count("busbw_gbps"), 0u);   // `at` picks the 1 GiB point only
  EXPECT_DOUBLE_EQ(*small.bounds.at("time_us").max, 100);
  const Bounds& b = large.bounds.at("busbw_gbps");
  EXPECT_DOUBLE_EQ(*b.min, 200);
  EXPECT_DOUBLE_EQ(*b.warn_below, 300);
  EXPECT_DOUBLE_EQ(*b.peak, 400);
  EXPECT_EQ(judge(b, 250).verdict, Verdict::warn);
  EXPECT_EQ(judge(b, 150).reason, "150 < min 200 (37.5% of peak 400)");
  EXPECT_DOUBLE_EQ(large.peaks.at("busbw_gbps"), 400);
  EXPECT_EQ(large.params.typed<AllreduceParams>().bytes, 1 << 30);   // typed parameters decoded per point
}

TEST_F(PlanTest, PerSizeGateLatencyBelowAMebibyteBusbwAbove) {
  const auto lab = platform("  busbw_gbps: {value: 400, unit: GB/s, source: test}\n");
  const auto s = suite(R"(  - id: ar
    kind: allreduce
    scope: rack
    repetitions: 20
    params: {sizes: [1KiB, 64MiB]}
    criteria:
      time_p95_us: {max: 250, at: 1KiB}
      busbw_gbps: {min: 40, at: 64MiB}
)");
  const auto plans = plan_suite(s, lab);
  ASSERT_EQ(plans[0].points.size(), 2u);
  const PointPlan& small = plans[0].points[0];
  const PointPlan& large = plans[0].points[1];
  EXPECT_EQ(small.bounds.size(), 1u);
  EXPECT_DOUBLE_EQ(*small.bounds.at("time_p95_us").max, 250);
  EXPECT_EQ(large.bounds.size(), 1u);
  EXPECT_DOUBLE_EQ(*large.bounds.at("busbw_gbps").min, 40);

  // 1 KiB: 20 repetitions around 100 us with two slow ones; the median passes, the p95 does not.
  const Kind& k = *s.checks[0].kind;
  Measurement m;
  m.measured = true;
  for (int i = 0; i < 20; ++i) m.samples.emplace_back((i < 18 ? 100 : 400) * 1e-6);
  const auto records = judge_point(Record{}, k, small, m, 16);
  for (const auto& r : records) {
    EXPECT_EQ(r.verdict, r.metric == "time_p95_us" ? Verdict::fail : Verdict::pass) << r.metric << ": " << r.reason;
    if (r.metric == "time_p95_us") {
      EXPECT_EQ(r.reason, "400 > max 250");
    }
  }
  // 64 MiB at 2.5 ms: algbw 26.8 GB/s, busbw x 2 x 15/16 = 50.3 >= 40; its tail is not gated.
  Measurement big;
  big.measured = true;
  for (int i = 0; i < 20; ++i) big.samples.emplace_back(i == 0 ? 10e-3 : 2.5e-3);
  for (const auto& r : judge_point(Record{}, k, large, big, 16)) {
    EXPECT_EQ(r.verdict, Verdict::pass) << r.metric << ": " << r.reason;
    EXPECT_EQ(r.criterion.empty(), r.metric != "busbw_gbps") << r.metric;
  }
}

TEST_F(PlanTest, APeakWhoseUnitIsNotTheMetricsIsAnInputError) {
  const auto lab = platform("  tflops_fp32: {value: 60, unit: GFLOP/s, source: test}\n");
  const auto s = suite("  - {id: g, kind: gemm, params: {m: 64, n: 64, k: 64}, criteria: {tflops: {min: 1}}}\n");
  try {
    plan_suite(s, lab);
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.field(), "checks[g].kind");
    EXPECT_EQ(e.line(), 3);
    EXPECT_NE(e.message().find("compares tflops (TFLOP/s) with platform lab's 'tflops_fp32', whose unit is GFLOP/s"),
              std::string::npos)
        << e.message();
  }
}

TEST_F(PlanTest, PlatformDefaultsApplyWhereTheCheckNamesNone) {
  const auto lab = platform("  tflops_fp32: {value: 60, unit: TFLOP/s, source: test}\n",
                            "  gemm.tflops: {min_fraction_of_peak: 0.5}\n  transformer_step.mfu: {min: 0.3}\n");
  const auto s = suite(R"(  - {id: g, kind: gemm, params: {m: 64, n: 64, k: 64}}
  - {id: t, kind: transformer_step, scope: node, params: {hidden: 64, heads: 4, seq: 16, vocab: 64}}
)");
  const auto plans = plan_suite(s, lab);
  EXPECT_DOUBLE_EQ(*plans[0].points[0].bounds.at("tflops").min, 30);
  EXPECT_EQ(plans[0].points[0].bounds.at("tflops").text, "tflops: {min_fraction_of_peak: 0.5} (platform lab default)");
  const PointPlan& step = plans[1].points[0];
  EXPECT_DOUBLE_EQ(*step.bounds.at("mfu").min, 0.3);
  EXPECT_FALSE(step.bounds.at("mfu").peak);            // mfu is a fraction already: no "% of peak"
  EXPECT_DOUBLE_EQ(step.peaks.at("model_tflops"), 60);   // what mfu is taken against
}

TEST_F(PlanTest, OnlySelectsChecksInSuiteOrderAndNamesAnUnknownOne) {
  const auto lab = platform("  tflops_fp32: {value: 60, unit: TFLOP/s, source: test}\n");
  const auto s = suite("  - {id: a, kind: gemm}\n  - {id: b, kind: gemm}\n  - {id: c, kind: gemm}\n");
  const auto plans = plan_suite(s, lab, {"c", "a"});
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[0].check->id, "a");
  EXPECT_EQ(plans[1].check->id, "c");
  EXPECT_THROW(plan_suite(s, lab, {"d"}), FieldError);   // an option's value, not a line of the suite
}

}  // namespace
}  // namespace rackqual
