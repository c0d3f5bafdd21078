#include "rackqual/base/stats.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <stdexcept>

namespace rackqual {
namespace {

TEST(Percentile, LinearInterpolation) {
  const std::vector<double> v{4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(percentile(v, 0.0), 1);
  EXPECT_DOUBLE_EQ(percentile(v, 1.0), 4);
  EXPECT_DOUBLE_EQ(percentile(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 0.1), 1.4);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5}, 0.9), 4.6);
  EXPECT_DOUBLE_EQ(percentile({10, 20}, 0.25), 12.5);
}

TEST(Percentile, SingleValue) {
  EXPECT_DOUBLE_EQ(percentile({7}, 0.0), 7);
  EXPECT_DOUBLE_EQ(percentile({7}, 0.5), 7);
  EXPECT_DOUBLE_EQ(percentile({7}, 1.0), 7);
}

TEST(Percentile, EmptyThrows) { EXPECT_THROW(percentile({}, 0.5), std::invalid_argument); }

TEST(Summarize, Figures) {
  const Stats s = summarize({5, 1, 4, 2, 3});
  EXPECT_EQ(s.n, 5);
  EXPECT_DOUBLE_EQ(s.median, 3);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.p10, 1.4);
  EXPECT_DOUBLE_EQ(s.p90, 4.6);
  EXPECT_DOUBLE_EQ(s.p95, 4.8);
  EXPECT_DOUBLE_EQ(s.cv, std::sqrt(2.5) / 3);
}

TEST(Summarize, P95OfTwentySamplesLiesBelowTheirMaximum) {
  std::vector<double> v;
  for (int i = 1; i <= 20; ++i) v.push_back(i);
  const Stats s = summarize(v);
  EXPECT_DOUBLE_EQ(s.p95, 19.05);   // position 0.95 x 19 = 18.05: between the 19th and 20th
  EXPECT_LT(s.p95, s.max);
}

TEST(SamplesForPercentile, OneSampleAboveThePercentileOnAverage) {
  EXPECT_EQ(samples_for_percentile(0.95), 20);
  EXPECT_EQ(samples_for_percentile(0.99), 100);
  EXPECT_EQ(samples_for_percentile(0.9), 10);
  EXPECT_EQ(samples_for_percentile(0.5), 2);
  EXPECT_THROW(samples_for_percentile(1), std::invalid_argument);
  EXPECT_THROW(samples_for_percentile(0), std::invalid_argument);
}

TEST(Summarize, EvenCountMedian) { EXPECT_DOUBLE_EQ(summarize({1, 2, 3, 10}).median, 2.5); }

TEST(Summarize, OneValueHasNoSpread) {
  const Stats s = summarize({2.5});
  EXPECT_EQ(s.n, 1);
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.cv, 0);
}

TEST(Summarize, ConstantValuesHaveNoSpread) { EXPECT_DOUBLE_EQ(summarize({3, 3, 3}).cv, 0); }

TEST(Summarize, ZeroMeanLeavesCvZero) { EXPECT_DOUBLE_EQ(summarize({-1, 1}).cv, 0); }

TEST(Summarize, NegativeMeanGivesPositiveCv) { EXPECT_DOUBLE_EQ(summarize({-1, -3}).cv, std::sqrt(2.0) / 2); }

TEST(Summarize, EmptyThrows) { EXPECT_THROW(summarize({}), std::invalid_argument); }

TEST(Stats, ToJson) {
  const Stats s{3, 2, 1, 3, 1.2, 2.8, 2.9, 0.5};
  EXPECT_EQ(to_json(s), nlohmann::json::parse(
                            R"({"n": 3, "median": 2, "min": 1, "max": 3, "p10": 1.2, "p90": 2.8, "p95": 2.9, "cv": 0.5})"));
}

}  // namespace
}  // namespace rackqual
