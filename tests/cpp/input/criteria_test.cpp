#include "rackqual/input/criteria.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

namespace rackqual {
namespace {

Criterion min_max(std::optional<double> min, std::optional<double> max) {
  Criterion c;
  c.metric = "tflops";
  c.min = min;
  c.max = max;
  return c;
}

TEST(Judge, PassWithinBounds) {
  const auto j = judge(min_max(100, 200), 150, std::nullopt, Better::higher);
  EXPECT_EQ(j.verdict, Verdict::pass);
  EXPECT_EQ(j.reason, "150 >= min 100, <= max 200");
}

TEST(Judge, PassReasonNamesOnlyGivenBounds) {
  EXPECT_EQ(judge(min_max(100, std::nullopt), 150, std::nullopt, Better::higher).reason, "150 >= min 100");
  EXPECT_EQ(judge(min_max(std::nullopt, 200), 150, std::nullopt, Better::lower).reason, "150 <= max 200");
}

TEST(Judge, BoundsAreInclusive) {
  EXPECT_EQ(judge(min_max(100, 200), 100, std::nullopt, Better::higher).verdict, Verdict::pass);
  EXPECT_EQ(judge(min_max(100, 200), 200, std::nullopt, Better::higher).verdict, Verdict::pass);
}

TEST(Judge, FailBelowMin) {
  const auto j = judge(min_max(100, std::nullopt), 99.5, std::nullopt, Better::higher);
  EXPECT_EQ(j.verdict, Verdict::fail);
  EXPECT_EQ(j.reason, "99.5 < min 100");
}

TEST(Judge, FailAboveMax) {
  const auto j = judge(min_max(std::nullopt, 20), 25, std::nullopt, Better::lower);
  EXPECT_EQ(j.verdict, Verdict::fail);
  EXPECT_EQ(j.reason, "25 > max 20");
}

TEST(Judge, WarnBands) {
  Criterion c = min_max(10, std::nullopt);
  c.warn_below = 50;
  c.warn_above = 90;
  EXPECT_EQ(judge(c, 5, std::nullopt, Better::higher).verdict, Verdict::fail);
  const auto low = judge(c, 30, std::nullopt, Better::higher);
  EXPECT_EQ(low.verdict, Verdict::warn);
  EXPECT_EQ(low.reason, "30 < warn_below 50");
  const auto high = judge(c, 95, std::nullopt, Better::higher);
  EXPECT_EQ(high.verdict, Verdict::warn);
  EXPECT_EQ(high.reason, "95 > warn_above 90");
  EXPECT_EQ(judge(c, 70, std::nullopt, Better::higher).verdict, Verdict::pass);
}

TEST(Judge, OnlyWarnBoundPassReasonIsTheValue) {
  Criterion c;
  c.metric = "gbps";
  c.warn_below = 10;
  const auto j = judge(c, 12, std::nullopt, Better::higher);
  EXPECT_EQ(j.verdict, Verdict::pass);
  EXPECT_EQ(j.reason, "12");
}

TEST(Judge, FractionOfPeak) {
  Criterion c;
  c.metric = "tflops";
  c.min_fraction_of_peak = 0.5;
  c.warn_below_fraction_of_peak = 0.8;
  const auto fail = judge(c, 90, 200.0, Better::higher);
  EXPECT_EQ(fail.verdict, Verdict::fail);
  EXPECT_EQ(fail.reason, "90 < min 100 (45% of peak 200)");
  const auto warn = judge(c, 150, 200.0, Better::higher);
  EXPECT_EQ(warn.verdict, Verdict::warn);
  EXPECT_EQ(warn.reason, "150 < warn_below 160 (75% of peak 200)");
  const auto pass = judge(c, 180, 200.0, Better::higher);
  EXPECT_EQ(pass.verdict, Verdict::pass);
  EXPECT_EQ(pass.reason, "180 >= min 100 (90% of peak 200)");
}

TEST(Judge, MaxFractionOfPeak) {
  Criterion c;
  c.metric = "x";
  c.max_fraction_of_peak = 1.1;
  c.warn_above_fraction_of_peak = 1.0;
  EXPECT_EQ(judge(c, 12, 10.0, Better::higher).verdict, Verdict::fail);
  EXPECT_EQ(judge(c, 10.5, 10.0, Better::higher).verdict, Verdict::warn);
  EXPECT_EQ(judge(c, 9, 10.0, Better::higher).verdict, Verdict::pass);
}

TEST(Judge, AbsoluteBoundWinsOverFraction) {
  Criterion c = min_max(50, std::nullopt);
  c.min_fraction_of_peak = 0.9;
  EXPECT_EQ(judge(c, 60, 100.0, Better::higher).verdict, Verdict::pass);
}

TEST(Judge, FractionWithoutPeakIsALogicError) {
  Criterion c;
  c.metric = "tflops";
  c.min_fraction_of_peak = 0.5;
  EXPECT_THROW(judge(c, 1, std::nullopt, Better::higher), std::logic_error);
}

TEST(Judge, NonFiniteValueIsAnError) {
  const auto nan = judge(min_max(1, std::nullopt), std::nan(""), std::nullopt, Better::higher);
  EXPECT_EQ(nan.verdict, Verdict::error);
  EXPECT_EQ(nan.reason, "value is not finite: nan");
  const auto inf = judge(min_max(std::nullopt, 1), std::numeric_limits<double>::infinity(), std::nullopt, Better::lower);
  EXPECT_EQ(inf.verdict, Verdict::error);
  EXPECT_EQ(inf.reason, "value is not finite: inf");
}

TEST(Criterion, UsesPeak) {
  Criterion c = min_max(1, 2);
  c.warn_below = 3;
  EXPECT_FALSE(c.uses_peak());
  for (auto field : {&Criterion::min_fraction_of_peak, &Criterion::max_fraction_of_peak,
                     &Criterion::warn_below_fraction_of_peak, &Criterion::warn_above_fraction_of_peak}) {
    Criterion r;
    r.*field = 0.5;
    EXPECT_TRUE(r.uses_peak());
  }
}

TEST(Criterion, Keys) {
  for (const char* k : {"min", "max", "min_fraction_of_peak", "max_fraction_of_peak", "warn_below", "warn_above",
                        "warn_below_fraction_of_peak", "warn_above_fraction_of_peak", "at"})
    EXPECT_TRUE(is_criterion_key(k)) << k;
  for (const char* k : {"", "minimum", "MIN", "metric", "text", "line"}) EXPECT_FALSE(is_criterion_key(k)) << k;
}

}  // namespace
}  // namespace rackqual
