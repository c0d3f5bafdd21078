#include "rackqual/records/summary.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace rackqual {
namespace {

Record record(const std::string& check, Verdict verdict, std::optional<double> value = std::nullopt, int device = 0) {
  Record r;
  r.check = check;
  r.metric = value ? "tflops" : "";
  r.value = value;
  r.unit = "TFLOP/s";
  r.better = Better::higher;
  r.host = "node" + std::to_string(device);
  r.rank = device;
  r.device = DeviceInfo{device, "CPU", "", ""};
  r.criterion = value ? "tflops: {min: 1}" : "";
  r.verdict = verdict;
  r.reason = "reason of " + r.host;
  return r;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(Verdict, OrderAndNames) {
  EXPECT_EQ(worst(Verdict::pass, Verdict::skip), Verdict::skip);
  EXPECT_EQ(worst(Verdict::warn, Verdict::skip), Verdict::warn);
  EXPECT_EQ(worst(Verdict::warn, Verdict::fail), Verdict::fail);
  EXPECT_EQ(worst(Verdict::error, Verdict::fail), Verdict::error);
  EXPECT_EQ(worst(Verdict::pass, Verdict::pass), Verdict::pass);
  EXPECT_EQ(to_string(Verdict::pass), "pass");
  EXPECT_EQ(to_string(Verdict::skip), "skip");
  EXPECT_EQ(to_string(Verdict::warn), "warn");
  EXPECT_EQ(to_string(Verdict::fail), "fail");
  EXPECT_EQ(to_string(Verdict::error), "error");
}

TEST(ExitCode, PassWarnSkipAreZero) {
  EXPECT_EQ(exit_code({}), 0);
  EXPECT_EQ(exit_code({record("a", Verdict::pass)}), 0);
  EXPECT_EQ(exit_code({record("a", Verdict::pass), record("b", Verdict::warn), record("c", Verdict::skip)}), 0);
}

TEST(ExitCode, FailIsOne) {
  EXPECT_EQ(exit_code({record("a", Verdict::pass), record("b", Verdict::fail), record("c", Verdict::warn)}), 1);
}

TEST(ExitCode, ErrorOutranksFail) {
  EXPECT_EQ(exit_code({record("a", Verdict::fail), record("b", Verdict::error)}), 3);
  EXPECT_EQ(exit_code({record("b", Verdict::error), record("a", Verdict::fail), record("c", Verdict::pass)}), 3);
}

TEST(SummaryTable, WorstRecordOfARowIsNamed) {
  const std::vector<Record> records{record("gemm", Verdict::pass, 5.0, 0), record("gemm", Verdict::fail, 0.5, 2),
                                    record("gemm", Verdict::warn, 1.5, 1), record("gemm", Verdict::fail, 0.7, 3)};
  const auto lines = lines_of(summary_table(records));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].rfind("check", 0), 0u);
  EXPECT_NE(lines[0].find("worst value"), std::string::npos);
  EXPECT_EQ(lines[1].rfind("gemm ", 0), 0u);
  EXPECT_NE(lines[1].find(" fail "), std::string::npos);
  EXPECT_NE(lines[1].find("0.5 TFLOP/s"), std::string::npos);
  EXPECT_NE(lines[1].find("node2 dev2 (rank 2)"), std::string::npos);
  EXPECT_NE(lines[1].find("reason of node2"), std::string::npos);
  EXPECT_EQ(lines[2], "4 records: 1 pass, 1 warn, 2 fail, 0 error, 0 skip");
}

TEST(SummaryTable, LowerIsBetterPicksTheLargest) {
  Record fast = record("ar", Verdict::warn, 10.0, 0), slow = record("ar", Verdict::warn, 30.0, 1);
  fast.better = slow.better = Better::lower;
  const auto lines = lines_of(summary_table({fast, slow}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[1].find("30 TFLOP/s"), std::string::npos);
  EXPECT_NE(lines[1].find("node1 dev1"), std::string::npos);
}

TEST(SummaryTable, ErrorBeatsFailAndShowsNoValue) {
  Record error = record("ar", Verdict::error);
  error.metric = "tflops";
  error.device.reset();
  error.scope = Scope::node;
  error.group = "node7";
  error.reason = "rank 3: timed out";
  const auto lines = lines_of(summary_table({record("ar", Verdict::fail, 1.0, 0), error}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[1].find(" error "), std::string::npos);
  EXPECT_NE(lines[1].find(" - "), std::string::npos);
  EXPECT_NE(lines[1].find("node node7"), std::string::npos);
  EXPECT_NE(lines[1].find("rank 3: timed out"), std::string::npos);
}

TEST(SummaryTable, OneRowPerCheckAndMetricInOrder) {
  Record busbw = record("ar", Verdict::pass, 3.0);
  busbw.metric = "busbw_gbps";
  const std::vector<Record> records{record("b", Verdict::pass, 2.0), record("a", Verdict::pass, 2.0), busbw,
                                    record("ar", Verdict::pass, 4.0)};
  const auto lines = lines_of(summary_table(records));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[1].rfind("b ", 0), 0u);
  EXPECT_EQ(lines[2].rfind("a ", 0), 0u);
  EXPECT_NE(lines[3].find("busbw_gbps"), std::string::npos);
  EXPECT_NE(lines[4].find("ar "), std::string::npos);
  EXPECT_NE(lines[4].find("tflops"), std::string::npos);
}

TEST(SummaryTable, PassWithoutCriterionHasNoRowButIsCounted) {
  Record plain = record("gemm", Verdict::pass, 2.0);
  plain.criterion.clear();
  const auto lines = lines_of(summary_table({plain}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "1 records: 1 pass, 0 warn, 0 fail, 0 error, 0 skip");
}

TEST(SummaryTable, SweepPointIsShown) {
  Record r = record("ar", Verdict::fail, 1.0);
  r.params = {{"sizes", {4194304}}, {"dtype", "fp32"}};
  const auto lines = lines_of(summary_table({r}));
  EXPECT_NE(lines.at(1).find("1 TFLOP/s @4MiB"), std::string::npos);
}

TEST(SummaryTable, LongReasonKeepsRowsApart) {
  Record a = record("a", Verdict::error, 1.0), b = record("b", Verdict::error, 1.0);
  a.reason = b.reason = std::string(600, 'x');
  const auto lines = lines_of(summary_table({a, b}));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1].rfind("a ", 0), 0u);
  EXPECT_EQ(lines[2].rfind("b ", 0), 0u);
  EXPECT_EQ(lines[3], "2 records: 0 pass, 0 warn, 0 fail, 2 error, 0 skip");
}

}  // namespace
}  // namespace rackqual
