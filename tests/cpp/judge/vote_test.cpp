// The consensus vote: each rank's output digest against those of the other devices of its model.
#include "rackqual/judge/vote.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "rackqual/judge/judge.hpp"

namespace rackqual {
namespace {

const std::string healthy = "9f8e7d6c5b4a3921";
const std::string h100 = "NVIDIA H100 80GB HBM3";

RankDigest digest_of(int rank, const std::string& hash, const std::string& model = h100, std::vector<double> sample = {}) {
  RankDigest d;
  d.rank = rank;
  d.host = rank < 4 ? "hostA" : "hostB";
  d.device = DeviceInfo{rank % 4, model, "", ""};
  d.digest.hash = hash;
  d.digest.covers = "C";
  d.digest.setting = "cuBLASLt 130000";
  d.digest.sample = std::move(sample);
  d.digest.tolerance = d.digest.sample.empty() ? 0 : 1e-4;
  return d;
}

// A passing gpu-scope figure of one rank at point m, carrying its own digest.
Record figure(const RankDigest& d, std::int64_t m = 64, const std::string& metric = "tflops") {
  Record r;
  r.check = "gemm";
  r.rank = d.rank;
  r.host = d.host;
  r.device = d.device;
  r.params = nlohmann::json{{"m", m}};
  r.metric = metric;
  r.value = 100;
  r.correct = true;
  r.correct_detail = "64 sampled outputs within tolerance";
  r.verdict = Verdict::pass;
  r.reason = "100 >= min 1";
  r.digests = {d};
  return r;
}

std::vector<Record> figures(const std::vector<RankDigest>& digests) {
  std::vector<Record> out;
  for (const auto& d : digests) out.push_back(figure(d));
  return out;
}

TEST(Vote, TheRankWhoseHashDiffersFromTheMajorityFailsNamed) {
  std::vector<RankDigest> digests;
  for (int r = 0; r < 8; ++r) digests.push_back(digest_of(r, r == 5 ? "1a2b3c4d5e6f7081" : healthy));
  auto records = figures(digests);
  vote_outputs(records);
  for (const auto& r : records) {
    EXPECT_EQ(r.verdict, r.rank == 5 ? Verdict::fail : Verdict::pass) << r.reason;
    EXPECT_EQ(r.correct, r.rank != 5);
  }
  const std::string why = "consensus: rank 5 (hostB dev1): output hash 1a2b3c4d5e6f7081 differs from the 7 of 8 devices (" +
                          h100 + "; cuBLASLt 130000) that agree on " + healthy;
  EXPECT_EQ(records[5].reason, why + " (100 >= min 1)");
  EXPECT_EQ(records[5].correct_detail, "64 sampled outputs within tolerance; " + why);
  EXPECT_EQ(records[0].correct_detail, "64 sampled outputs within tolerance; consensus: output hash " + healthy +
                                           " shared by 7 of 8 devices (" + h100 + "; cuBLASLt 130000)");
}

TEST(Vote, ATieIsAnErrorForEveryone) {
  auto records = figures({digest_of(0, healthy), digest_of(1, healthy), digest_of(2, "aaaa"), digest_of(3, "aaaa")});
  vote_outputs(records);
  for (const auto& r : records) {
    EXPECT_EQ(r.verdict, Verdict::error) << r.reason;
    EXPECT_NE(r.reason.find("no output hash is shared by more than half of the 4 devices"), std::string::npos) << r.reason;
    EXPECT_NE(r.reason.find(healthy + " on 2"), std::string::npos) << r.reason;
  }
}

TEST(Vote, APluralityIsNoMajority) {
  auto records = figures({digest_of(0, healthy), digest_of(1, healthy), digest_of(2, "aaaa"), digest_of(3, "bbbb"),
                          digest_of(4, "cccc")});
  vote_outputs(records);
  for (const auto& r : records) EXPECT_EQ(r.verdict, Verdict::error) << r.reason;
}

TEST(Vote, TwoOfThreeIsAMajority) {
  auto records = figures({digest_of(0, healthy), digest_of(1, "aaaa"), digest_of(2, healthy)});
  vote_outputs(records);
  EXPECT_EQ(records[0].verdict, Verdict::pass);
  EXPECT_EQ(records[1].verdict, Verdict::fail);
  EXPECT_NE(records[1].reason.find("the 2 of 3 devices"), std::string::npos) << records[1].reason;
  EXPECT_EQ(records[2].verdict, Verdict::pass);
}

TEST(Vote, EachModelVotesAmongItsOwn) {
  // Three H100s (one wrong), two H200s that agree on another hash, one B200 alone.
  auto records = figures({digest_of(0, healthy), digest_of(1, healthy), digest_of(2, "aaaa"),
                          digest_of(4, "cccc", "NVIDIA H200"), digest_of(5, "cccc", "NVIDIA H200"),
                          digest_of(6, "dddd", "NVIDIA B200")});
  vote_outputs(records);
  EXPECT_EQ(records[0].verdict, Verdict::pass);
  EXPECT_EQ(records[1].verdict, Verdict::pass);
  EXPECT_EQ(records[2].verdict, Verdict::fail);
  EXPECT_NE(records[2].reason.find("the 2 of 3 devices (" + h100), std::string::npos) << records[2].reason;
  EXPECT_EQ(records[3].verdict, Verdict::pass) << records[3].reason;
  EXPECT_NE(records[3].correct_detail.find("shared by 2 of 2 devices (NVIDIA H200"), std::string::npos);
  EXPECT_EQ(records[5].verdict, Verdict::pass);
  EXPECT_NE(records[5].correct_detail.find("no other device (NVIDIA B200; cuBLASLt 130000) computed this point"),
            std::string::npos);
}

TEST(Vote, DigestsOfAnotherSettingAreNotCompared) {
  // Same model, two library versions: two votes of one, neither failing the other.
  auto a = digest_of(0, healthy), b = digest_of(1, "aaaa");
  b.digest.setting = "cuBLASLt 120900";
  auto records = figures({a, b});
  vote_outputs(records);
  for (const auto& r : records) EXPECT_EQ(r.verdict, Verdict::pass) << r.reason;
}

TEST(Vote, NotBitExactVotesByToleranceAndSaysSo) {
  const std::vector<double> base = {1.0, -0.5, 0.25, 2.0};
  std::vector<RankDigest> digests;
  for (int r = 0; r < 4; ++r) {
    auto sample = base;
    sample[0] += 1e-6 * r;   // reordered sums: within 1e-4 of the largest value
    if (r == 3) sample[2] += 0.01;   // 0.005 of the largest: outside
    digests.push_back(digest_of(r, healthy, h100, sample));
  }
  auto records = figures(digests);
  vote_outputs(records);
  for (const auto& r : records) EXPECT_EQ(r.verdict, r.rank == 3 ? Verdict::fail : Verdict::pass) << r.reason;
  EXPECT_NE(records[3].reason.find("rank 3 (hostA dev3): sampled output (not reproducible bit for bit)"), std::string::npos)
      << records[3].reason;
  EXPECT_NE(records[3].reason.find("over the tolerance 0.0001; 3 of 4 devices"), std::string::npos) << records[3].reason;
  EXPECT_NE(records[0].correct_detail.find("shared by 3 of 4 devices (" + h100 +
                                           "; cuBLASLt 130000); its part not reproducible bit for bit within 0.0001 of "
                                           "their median on a sample"),
            std::string::npos)
      << records[0].correct_detail;
  EXPECT_TRUE(to_json(records[0]).at("digests").at(0).at("bit_exact") == false);
}

TEST(Vote, ANotANumberInTheSampleNeverAgrees) {
  std::vector<RankDigest> digests;
  for (int r = 0; r < 3; ++r) digests.push_back(digest_of(r, healthy, h100, {1.0, 2.0}));
  digests[1].digest.sample[1] = std::numeric_limits<double>::quiet_NaN();
  auto records = figures(digests);
  vote_outputs(records);
  EXPECT_EQ(records[0].verdict, Verdict::pass);
  EXPECT_EQ(records[1].verdict, Verdict::fail) << records[1].reason;
  EXPECT_EQ(records[2].verdict, Verdict::pass);
}

TEST(Vote, SamplesWithoutAMajorityWithinToleranceAreAnError) {
  auto records = figures({digest_of(0, healthy, h100, {1.0}), digest_of(1, healthy, h100, {1.1}),
                          digest_of(2, healthy, h100, {1.2}), digest_of(3, healthy, h100, {1.3})});
  vote_outputs(records);
  for (const auto& r : records) EXPECT_EQ(r.verdict, Verdict::error) << r.reason;
}

TEST(Vote, AGroupRecordFailsForTheRankItCarries) {
  // Node-scope figures: one record per node and metric, each carrying its ranks' digests.
  auto node = [](const std::string& host, std::vector<RankDigest> ranks, const std::string& metric) {
    Record r;
    r.check = "step";
    r.group = host;
    r.params = nlohmann::json{{"hidden", 32}};
    r.metric = metric;
    r.value = 1;
    r.correct = true;
    r.verdict = Verdict::pass;
    r.reason = "measured; no criterion";
    r.digests = std::move(ranks);
    return r;
  };
  const std::vector<RankDigest> a = {digest_of(0, healthy), digest_of(1, healthy)};
  const std::vector<RankDigest> b = {digest_of(4, healthy), digest_of(5, "aaaa")};
  std::vector<Record> records = {node("hostA", a, "step_time_s"), node("hostB", b, "step_time_s"),
                                 node("hostA", a, "mfu"), node("hostB", b, "mfu")};
  vote_outputs(records);
  for (const auto& r : records) {
    EXPECT_EQ(r.verdict, r.group == "hostB" ? Verdict::fail : Verdict::pass) << r.reason;
    if (r.group == "hostB") {   // 4 ranks vote once each, whatever the number of metrics
      EXPECT_EQ(r.reason.rfind("consensus: rank 5 (hostB dev1): output hash aaaa differs from the 3 of 4 devices", 0), 0u)
          << r.reason;
    }
  }
}

TEST(Vote, EachPointVotesApart) {
  auto records = figures({digest_of(0, healthy), digest_of(1, healthy), digest_of(2, healthy)});
  for (auto d : {digest_of(0, "aaaa"), digest_of(1, "aaaa"), digest_of(2, "bbbb")}) records.push_back(figure(d, 128));
  vote_outputs(records);
  for (std::size_t i = 0; i < records.size(); ++i) EXPECT_EQ(records[i].verdict, i == 5 ? Verdict::fail : Verdict::pass);
}

TEST(Vote, VerdictsOnlyGetWorseAndRecordsWithoutDigestsAreLeftAlone) {
  auto records = figures({digest_of(0, healthy), digest_of(1, healthy), digest_of(2, "aaaa")});
  records[2].verdict = Verdict::fail;
  records[2].reason = "50 < min 90";
  records[0].verdict = Verdict::warn;
  Record plain = figure(digest_of(3, "bbbb"));
  plain.digests.clear();
  records.push_back(plain);
  vote_outputs(records);
  EXPECT_EQ(records[0].verdict, Verdict::warn);
  EXPECT_EQ(records[2].verdict, Verdict::fail);
  EXPECT_EQ(records[2].reason.rfind("50 < min 90; consensus: rank 2", 0), 0u) << records[2].reason;
  EXPECT_EQ(records[3].verdict, Verdict::pass);
  EXPECT_EQ(records[3].correct_detail, plain.correct_detail);
}

TEST(Vote, JudgePeersAlsoVotes) {
  auto records = figures({digest_of(0, healthy), digest_of(1, healthy), digest_of(2, "aaaa")});
  judge_peers(records, CheckPlan{nullptr, {}});
  EXPECT_EQ(records[2].verdict, Verdict::fail);
}

}  // namespace
}  // namespace rackqual
