#include "rackqual/measure.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace rackqual {
namespace {

constexpr long most = 10'000'000;

TEST(AgreedIterations, FillsMinTime) {
  EXPECT_EQ(agreed_iterations(0.125, 1.0), 8);
  EXPECT_EQ(agreed_iterations(0.001, 0.2), 200);
  EXPECT_EQ(agreed_iterations(0.25, 0.5), 2);
}

TEST(AgreedIterations, RoundsUp) {
  EXPECT_EQ(agreed_iterations(0.3, 1.0), 4);
  EXPECT_EQ(agreed_iterations(0.003, 0.2), 67);
}

TEST(AgreedIterations, AtLeastOne) {
  EXPECT_EQ(agreed_iterations(5.0, 0.2), 1);
  EXPECT_EQ(agreed_iterations(0.2, 0.2), 1);
  EXPECT_EQ(agreed_iterations(1.0, 0.0), 1);
}

TEST(AgreedIterations, CappedForTinyTimes) {
  EXPECT_EQ(agreed_iterations(1e-12, 0.2), most);
  EXPECT_EQ(agreed_iterations(std::numeric_limits<double>::denorm_min(), 1.0), most);
}

TEST(AgreedIterations, NonPositiveOrNanTimeGivesTheCap) {
  EXPECT_EQ(agreed_iterations(0.0, 0.2), most);
  EXPECT_EQ(agreed_iterations(-1.0, 0.2), most);
  EXPECT_EQ(agreed_iterations(std::nan(""), 0.2), most);
}

TEST(TimingPlan, Defaults) {
  const TimingPlan plan;
  EXPECT_EQ(plan.warmup, 2);
  EXPECT_EQ(plan.calibration, 3);
  EXPECT_EQ(plan.repetitions, 5);
  EXPECT_DOUBLE_EQ(plan.min_time, 0.2);
}

}  // namespace
}  // namespace rackqual
