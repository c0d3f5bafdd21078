// Judging against peers: the check's records of one point and metric compared with their median.
#include "rackqual/judge.hpp"

#include <gtest/gtest.h>

#include "rackqual/text.hpp"

namespace rackqual {
namespace {

Record figure(int rank, double value, const std::string& better = "higher") {
  Record r;
  r.rank = rank;
  r.metric = "tflops";
  r.better = better;
  r.value = value;
  r.params = nlohmann::json{{"m", 64}};
  r.verdict = Verdict::pass;
  r.reason = format_number(value) + " >= min 1";
  return r;
}

CheckPlan plan_with(Bounds b, const std::string& metric = "tflops") {
  Params p;
  p.set("m", std::int64_t{64});
  PointPlan point{p, {{metric, b}}, {}};
  return CheckPlan{nullptr, {point}};
}

TEST(JudgePeers, AFigureUnderAFractionOfItsPeersMedianFails) {
  Bounds b;
  b.min_fraction_of_group_median = 0.95;
  std::vector<Record> records = {figure(0, 100), figure(1, 101), figure(2, 99), figure(3, 90), figure(4, 100)};
  judge_peers(records, plan_with(b));
  for (const auto& r : records) EXPECT_EQ(r.verdict, r.rank == 3 ? Verdict::fail : Verdict::pass) << r.reason;
  EXPECT_EQ(records[3].reason, "90 < 0.95 x the median 100 of 5 peers (90 >= min 1)");
}

TEST(JudgePeers, LowerIsBetterFailsAboveTheMedianOverTheFraction) {
  Bounds b;
  b.min_fraction_of_group_median = 0.8;
  std::vector<Record> records = {figure(0, 10, "lower"), figure(1, 10, "lower"), figure(2, 13, "lower")};
  judge_peers(records, plan_with(b));
  EXPECT_EQ(records[2].verdict, Verdict::fail);
  EXPECT_EQ(records[0].verdict, Verdict::pass);
}

TEST(JudgePeers, RobustZScoreInTheWorseDirectionOnly) {
  Bounds b;
  b.max_robust_z = 3.5;
  std::vector<Record> records;
  for (int r = 0; r < 8; ++r) records.push_back(figure(r, 100 + r % 3));   // 100, 101, 102, ...
  records.push_back(figure(8, 80));    // far below: fails
  records.push_back(figure(9, 130));   // far above: a faster GPU is not failed by this bound
  judge_peers(records, plan_with(b));
  for (const auto& r : records) EXPECT_EQ(r.verdict, r.rank == 8 ? Verdict::fail : Verdict::pass) << r.reason;
  EXPECT_NE(records[8].reason.find("robust z-score"), std::string::npos);
}

TEST(JudgePeers, ErrorsAndOtherPointsAreNoOnesPeers) {
  Bounds b;
  b.min_fraction_of_group_median = 0.9;
  std::vector<Record> records = {figure(0, 100), figure(1, 50)};
  records.push_back(figure(2, 1));
  records.back().verdict = Verdict::error;
  records.push_back(figure(3, 1));
  records.back().params = nlohmann::json{{"m", 128}};   // another point
  judge_peers(records, plan_with(b));
  EXPECT_EQ(records[1].verdict, Verdict::fail);   // 50 < 0.9 x median(100, 50) = 67.5
  EXPECT_EQ(records[2].verdict, Verdict::error);
  EXPECT_EQ(records[3].verdict, Verdict::pass);
  EXPECT_EQ(records[0].verdict, Verdict::pass);
}

TEST(JudgePeers, IdenticalPeersPassTheZScore) {
  Bounds b;
  b.max_robust_z = 3;
  std::vector<Record> records = {figure(0, 100), figure(1, 100), figure(2, 100)};
  judge_peers(records, plan_with(b));
  for (const auto& r : records) EXPECT_EQ(r.verdict, Verdict::pass);
}

}  // namespace
}  // namespace rackqual
