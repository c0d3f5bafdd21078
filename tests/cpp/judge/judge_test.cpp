// Judging a point's measurement against its bounds, and against peers: the check's records of
// one point and metric compared with their median.
#include "rackqual/judge/judge.hpp"

#include <gtest/gtest.h>

#include "rackqual/base/text.hpp"

namespace rackqual {
namespace {

Record figure(int rank, double value, Better better = Better::higher) {
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

// An all-reduce point of `size`, every other parameter at its default, typed as planning decodes it.
PointPlan allreduce_point(const std::string& size, std::map<std::string, Bounds> bounds = {}) {
  const Kind& k = *KindRegistry::instance().find("allreduce");
  Params p;
  for (const auto& spec : k.params()) p.set(spec.name, parse_param(spec, spec.name == "sizes" ? size : spec.default_value));
  return PointPlan{k.points(p).front(), std::move(bounds), {}};
}

// A group's measurement: one sample (seconds per launch) per repetition, every rank right.
Measurement measured(const std::vector<double>& seconds) {
  Measurement m;
  m.measured = true;
  for (double s : seconds) m.samples.emplace_back(s);
  m.correct_detail = "all elements equal the sum";
  return m;
}

const Record& of(const std::vector<Record>& records, const std::string& metric) {
  for (const auto& r : records)
    if (r.metric == metric) return r;
  throw std::runtime_error("no record of " + metric);
}

TEST(JudgePoint, TailLatencyIsThe95thPercentileOfTheRepetitions) {
  // 19 repetitions of 100 us and one of 1 ms: the median hides the slow one, the p95 does not.
  std::vector<double> seconds(19, 100e-6);
  seconds.push_back(1000e-6);
  Bounds b;
  b.max = 120;
  b.text = "time_p95_us: {max: 120}";
  const Kind& k = *KindRegistry::instance().find("allreduce");
  const auto records = judge_point(Record{}, k, allreduce_point("1KiB", {{"time_p95_us", b}}), measured(seconds), 2);
  ASSERT_EQ(records.size(), 4u);
  const Record& time = of(records, "time_us");
  EXPECT_NEAR(*time.value, 100, 1e-9);
  EXPECT_EQ(time.verdict, Verdict::pass);
  const Record& tail = of(records, "time_p95_us");
  EXPECT_NEAR(*tail.value, 145, 1e-9);   // position 0.95 x 19 = 18.05: 100 + 0.05 x 900
  EXPECT_EQ(tail.unit, "us");
  EXPECT_EQ(tail.better, Better::lower);
  ASSERT_TRUE(tail.stats);
  EXPECT_EQ(tail.stats->n, 20);                        // the samples the percentile stands on
  EXPECT_NEAR(tail.stats->median, 100, 1e-9);          // of time_us, whose percentile it is
  EXPECT_DOUBLE_EQ(tail.stats->p95, *tail.value);
  EXPECT_EQ(tail.verdict, Verdict::fail);
  EXPECT_EQ(tail.reason, "145 > max 120");
  EXPECT_EQ(tail.criterion, "time_p95_us: {max: 120}");
  EXPECT_TRUE(tail.correct);
}

TEST(JudgePoint, TailLatencyWithinItsBoundPasses) {
  Bounds b;
  b.max = 250;
  std::vector<double> seconds;
  for (int i = 0; i < 20; ++i) seconds.push_back((100 + i) * 1e-6);
  const Kind& k = *KindRegistry::instance().find("allreduce");
  const auto records = judge_point(Record{}, k, allreduce_point("1KiB", {{"time_p95_us", b}}), measured(seconds), 4);
  const Record& tail = of(records, "time_p95_us");
  EXPECT_NEAR(*tail.value, 118.05, 1e-9);   // 100 + position 18.05
  EXPECT_EQ(tail.verdict, Verdict::pass);
}

TEST(JudgePoint, AWrongResultFailsTheTailLatencyToo) {
  Bounds b;
  b.max = 250;
  Measurement m = measured(std::vector<double>(20, 100e-6));
  m.complaints = "rank 1 (h): 1 of 256 elements wrong";
  const Kind& k = *KindRegistry::instance().find("allreduce");
  const auto records = judge_point(Record{}, k, allreduce_point("1KiB", {{"time_p95_us", b}}), m, 2);
  const Record& tail = of(records, "time_p95_us");
  EXPECT_EQ(tail.verdict, Verdict::fail);
  EXPECT_EQ(tail.reason, "incorrect result: rank 1 (h): 1 of 256 elements wrong");
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
  std::vector<Record> records = {figure(0, 10, Better::lower), figure(1, 10, Better::lower), figure(2, 13, Better::lower)};
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
