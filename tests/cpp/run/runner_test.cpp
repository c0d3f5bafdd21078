// The runner's plan, measure and judge steps on simulated ranks in one process (FakeWorld),
// with a backend of this test's own: no mpiexec, no MPI.
#include "rackqual/run/runner.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "kernels/common/consensus.hpp"
#include "kernels/common/hash.hpp"
#include "kernels/host/timer.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/run/slowdown.hpp"
#include "rackqual/world/fake_world.hpp"
#include "run/cluster_reduce_suite.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

// gemm as a wait of a known time per launch, its output a number the check knows within a
// tolerance; with consensus, that number's hash is its digest. It sleeps rather than spins: four
// simulated ranks spinning on two busy cores would time the scheduler, not the device.
class TimedWait : public Op {
 public:
  TimedWait(double seconds, bool consensus) : seconds_(seconds), consensus_(consensus) {}
  void launch() override {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds_));
    output_ = 42;
  }
  Correctness verify() override { return {std::fabs(output_ - 42) < 1e-9, "output " + std::to_string(output_)}; }
  void inject_error() override { output_ = 41; }
  std::optional<Digest> digest() override {
    if (!consensus_) return std::nullopt;
    return Digest{consensus::hex(fnv1a_words(&output_, sizeof output_)), "output", "", {}, 0};
  }
  void corrupt() override { consensus::flip_lowest_bit(&output_); }

 private:
  double seconds_;
  bool consensus_;
  double output_ = 0;
};

// transformer_step as a product of this rank's own, then its maximum across the group: as a
// training step's gradients before their exchange, the local product is what the digest covers.
class LocalThenMax : public Op {
 public:
  LocalThenMax(const Group& group, bool consensus) : group_(group), consensus_(consensus) {}
  void launch() override {
    local_ = 6.0 * 7.0;
    result_ = group_.max(local_);
  }
  Correctness verify() override { return {std::fabs(result_ - 42) < 1e-9, "result " + std::to_string(result_)}; }
  void inject_error() override { result_ = -1; }
  std::optional<Digest> digest() override {
    if (!consensus_) return std::nullopt;
    return Digest{consensus::hex(fnv1a_words(&local_, sizeof local_)), "local product", "", {}, 0};
  }
  void corrupt() override { consensus::flip_lowest_bit(&local_); }

 private:
  const Group& group_;
  bool consensus_;
  double local_ = 0, result_ = 0;
};

// allreduce as a maximum across the group: every rank must end with the largest rank + 1.
class GroupMax : public Op {
 public:
  explicit GroupMax(const Group& group) : group_(group) {}
  void launch() override {
    result_ = group_.max(group_.rank() + 1.0);
    std::this_thread::sleep_for(std::chrono::microseconds(100));   // the transfer
  }
  Correctness verify() override {
    return {result_ == group_.size(), "result " + std::to_string(result_) + " on " + std::to_string(group_.size()) + " ranks"};
  }
  void inject_error() override { result_ = -1; }

 private:
  const Group& group_;
  double result_ = 0;
};

class SimBackend : public Backend {
 public:
  std::string name() const override { return "sim"; }
  void set_up(int, int) override {}
  DeviceInfo device(int local_rank) const override { return {local_rank, "simulated device", "", ""}; }
  std::map<std::string, std::string> versions() const override { return {{"sim", "1"}}; }
  std::unique_ptr<Timer> timer() override { return std::make_unique<host::SteadyTimer>(); }
};

const BackendRegistration sim_backend("sim", [] { return std::make_unique<SimBackend>(); });
const OpRegistration sim_gemm("sim", "gemm", [](const OpContext& ctx) -> std::unique_ptr<Op> {
  const auto& p = ctx.params.typed<GemmParams>();
  // m microseconds per multiply; world rank 2's device is ten times slower.
  const bool slow = ctx.group.world_rank(ctx.group.rank()) == 2;
  return std::make_unique<TimedWait>(static_cast<double>(p.m) * 1e-6 * (slow ? 10 : 1), p.consensus);
}, {{"dtype", {"fp32"}}});
const OpRegistration sim_step("sim", "transformer_step", [](const OpContext& ctx) -> std::unique_ptr<Op> {
  return std::make_unique<LocalThenMax>(ctx.group, ctx.params.typed<TransformerParams>().consensus);
});
const OpRegistration sim_allreduce("sim", "allreduce",
                                   [](const OpContext& ctx) -> std::unique_ptr<Op> { return std::make_unique<GroupMax>(ctx.group); });

const char* suite_text = R"(name: sim
platform: host
defaults: {repetitions: 3, min_time: 0.01s, deadline: 60s}
checks:
  - id: gemm
    kind: gemm
    scope: gpu
    params: {m: 200, n: 8, k: 8}
    criteria:
      tflops: {min: 1e-12}
  - id: reduce
    kind: allreduce
    scope: node
    params: {sizes: [64KiB, 1MiB]}
)";

std::vector<nlohmann::json> read_records(const std::string& dir) {
  std::vector<nlohmann::json> out;
  std::ifstream in(dir + "/records.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

class RunnerTest : public ::testing::Test {
 protected:
  unit::TempDir tmp;

  // Runs the suite on simulated ranks (by default 4, 2 per host); returns each rank's exit code and the run folder.
  std::pair<std::vector<int>, std::string> run(const std::vector<Fault>& faults = {}, const char* text = suite_text,
                                               const std::vector<std::pair<std::string, std::string>>& layout =
                                                   {{"a", "r1"}, {"a", "r1"}, {"b", "r1"}, {"b", "r1"}},
                                               const Slowdowns& slowdowns = {}) {
    const std::string path = tmp.write("sim.yaml", text);
    const Suite suite = load_suite(path);
    const Platform platform = load_platform(RACKQUAL_SOURCE_DIR "/suites/platforms/host.yaml");
    FakeCluster cluster(layout);
    const int size = cluster.size();
    std::vector<int> codes(static_cast<std::size_t>(size), -1);
    std::string dir;
    std::vector<std::thread> ranks;
    for (int r = 0; r < size; ++r)
      ranks.emplace_back([&, r] {
        FakeWorld world(cluster, r);
        SimBackend backend;
        RunOptions options;
        options.out_dir = (tmp.path() / "results").string();
        options.faults = faults;
        options.slowdowns = slowdowns;
        Runner runner(world, backend, suite, platform, plan_suite(suite, platform), options);
        codes[static_cast<std::size_t>(r)] = runner.run();
        if (r == 0) dir = runner.dir();
      });
    for (auto& t : ranks) t.join();
    return {codes, dir};
  }
};

// The "sim" backend above runs gemm in fp32 only and has no hbm operation.
TEST(BackendSupport, UnsupportedDtypeOrKindForTheBackendNamesItsLine) {
  unit::TempDir dir;
  const auto suite = [&](const std::string& checks) { return load_suite(dir.write("s.yaml", "name: s\nchecks:\n" + checks)); };
  const auto s = suite(R"(  - id: g
    kind: gemm
    params:
      m: 64
      dtype: bf16
  - {id: h, kind: hbm}
)");
  try {
    check_support(s, "sim");
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.line(), 7);
    EXPECT_EQ(e.field(), "checks[g].params.dtype");
    EXPECT_EQ(e.message(), "backend sim runs gemm with dtype fp32, not bf16");
  }
  const auto h = suite("  - {id: h, kind: hbm}\n");
  try {
    check_support(h, "sim");
    FAIL() << "no InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.message(), "backend sim has no operation for kind hbm");
  }
  EXPECT_NO_THROW(check_support(suite("  - {id: g, kind: gemm}\n"), "sim"));   // fp32 by default
}

TEST_F(RunnerTest, MeasuresEveryRankAndEveryGroupAndJudgesThem) {
  const auto [codes, dir] = run();
  EXPECT_EQ(codes, (std::vector<int>{0, 0, 0, 0}));
  const auto records = read_records(dir);
  int gemm = 0, reduce = 0;
  for (const auto& r : records) {
    EXPECT_EQ(r["verdict"], "pass") << r.dump();
    EXPECT_TRUE(r["correct"]["ok"].get<bool>()) << r.dump();
    if (r["check"] == "gemm") {
      ++gemm;
      // At least 200 us per multiply of 2*200*8*8 FLOPs (more when the machine is loaded).
      EXPECT_GT(r["value"].get<double>(), 0);
      EXPECT_LE(r["value"].get<double>(), 1.001 * 2.0 * 200 * 8 * 8 / 200e-6 / 1e12);
      EXPECT_EQ(r["criterion"], "tflops: {min: 1e-12}");
      EXPECT_EQ(r["timing"]["repetitions"], 3);
      EXPECT_TRUE(r["arrival"].is_null());   // one rank per gpu-scope group: no alignment
    } else {
      ++reduce;
      EXPECT_TRUE(r["group"] == "a" || r["group"] == "b");
      EXPECT_EQ(r["correct"]["detail"], "result 2.000000 on 2 ranks");
      EXPECT_EQ(r["arrival"]["late_s"].size(), 2u);
    }
  }
  EXPECT_EQ(gemm, 4);                 // one tflops record per rank (no power: no per-watt figure)
  EXPECT_EQ(reduce, 2 * 2 * 4);       // 2 nodes x 2 sizes x 4 metrics (time_p95_us among them)
  std::ifstream manifest(dir + "/manifest.json");
  const auto m = nlohmann::json::parse(manifest);
  EXPECT_EQ(m["status"], "finished");
  EXPECT_EQ(m["exit_status"], 0);
  EXPECT_EQ(m["hosts"], (nlohmann::json{"a", "b"}));
}

TEST_F(RunnerTest, AWrongResultFailsOnlyItsRankAndAFailedPreparationIsAnError) {
  const auto [codes, dir] = run({parse_fault("gemm:2:wrong"), parse_fault("reduce:3:error")});
  EXPECT_EQ(codes, (std::vector<int>{3, 3, 3, 3}));   // an error outranks a failure
  for (const auto& r : read_records(dir)) {
    if (r["check"] == "gemm") {
      EXPECT_EQ(r["verdict"], r["rank"] == 2 ? "fail" : "pass") << r.dump();
    } else if (r["group"] == "b") {
      EXPECT_EQ(r["verdict"], "error") << r.dump();
      EXPECT_NE(r["reason"].get<std::string>().find("rank 3 (b): injected fault"), std::string::npos) << r.dump();
    } else {
      EXPECT_EQ(r["verdict"], "pass") << r.dump();
    }
  }
}

TEST_F(RunnerTest, AFailureInsideATimedSampleIsAnErrorOfItsGroupNamingTheRank) {
  // Rank 3 fails inside its first timed sample; rank 2, its group's other rank, stops with it.
  const auto started = std::chrono::steady_clock::now();
  const auto [codes, dir] = run({parse_fault("reduce:3:sample_error")});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(30));   // the deadline is 60 s
  EXPECT_EQ(codes, (std::vector<int>{3, 3, 3, 3}));
  int errors = 0;
  for (const auto& r : read_records(dir)) {
    if (r["check"] == "reduce" && r["group"] == "b") {
      ++errors;
      EXPECT_EQ(r["verdict"], "error") << r.dump();
      EXPECT_EQ(r["reason"].get<std::string>().find("rank 2"), std::string::npos) << r.dump();
      EXPECT_NE(r["reason"].get<std::string>().find("rank 3 (b): injected fault: a timed sample failed"), std::string::npos)
          << r.dump();
    } else {
      EXPECT_EQ(r["verdict"], "pass") << r.dump();
    }
  }
  EXPECT_EQ(errors, 2);   // each size of node b
}

TEST_F(RunnerTest, APeerCriterionFailsOnlyTheGpuFarBelowItsPeers) {
  const auto [codes, dir] = run({}, R"(name: peers
platform: host
defaults: {repetitions: 3, min_time: 0.01s, deadline: 60s}
checks:
  - id: gemm
    kind: gemm
    params: {m: 3000, n: 8, k: 8}
    criteria:
      tflops: {min: 1e-12, min_fraction_of_group_median: 0.3}
)");   // 3 ms a multiply, 30 ms on rank 2: a loaded machine's scheduling delays stay well under the 7 ms between
  EXPECT_EQ(codes, (std::vector<int>{1, 1, 1, 1}));
  for (const auto& r : read_records(dir)) {
    EXPECT_EQ(r["verdict"], r["rank"] == 2 ? "fail" : "pass") << r.dump();
    if (r["rank"] == 2) {
      EXPECT_NE(r["reason"].get<std::string>().find("x the median"), std::string::npos) << r.dump();
    }
  }
}

TEST_F(RunnerTest, ALateRankIsNamedAndItsLatenessIsNotTimed) {
  const auto [codes, dir] = run({parse_fault("reduce:3:late=20ms")});
  EXPECT_EQ(codes, (std::vector<int>{0, 0, 0, 0}));
  for (const auto& r : read_records(dir)) {
    if (r["check"] != "reduce" || r["group"] != "b") continue;
    EXPECT_EQ(r["arrival"]["latest_rank"], 3) << r.dump();
    EXPECT_EQ(r["arrival"]["late_ranks"], (nlohmann::json{3}));
    EXPECT_NE(r["reason"].get<std::string>().find("[stragglers, late at the common start: rank 3 "), std::string::npos) << r.dump();
    EXPECT_GT(r["arrival"]["latest_late_s"].get<double>(), 0.015);
    if (r["metric"] == "time_us") {
      EXPECT_LT(r["value"].get<double>(), 15000) << r.dump();   // far below the 20 ms
    }
  }
}

// Four hosts of two ranks in two racks, one all-reduce over all eight; a healthy launch takes
// well under a millisecond, a slowed one far over three.
const std::vector<std::pair<std::string, std::string>> two_racks = {{"h1", "r1"}, {"h1", "r1"}, {"h2", "r1"}, {"h2", "r1"},
                                                                    {"h3", "r2"}, {"h3", "r2"}, {"h4", "r2"}, {"h4", "r2"}};
using test::cluster_reduce;

// The culprit records of a run: "slow_member HOST" or "slow_link A-B".
std::vector<std::string> culprits(const std::vector<nlohmann::json>& records) {
  std::vector<std::string> out;
  for (const auto& r : records) {
    if (!r["isolation"].is_object() || !r["isolation"].contains("culprit")) continue;
    std::string c = r["isolation"]["culprit"].get<std::string>();
    c += ' ';
    c += r["isolation"]["member"].get<std::string>();
    if (r["isolation"].contains("peer")) {
      c += '-';
      c += r["isolation"]["peer"].get<std::string>();
    }
    out.push_back(c);
    EXPECT_EQ(r["verdict"], "fail") << r.dump();
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Every probe is a record of its own: its members, its figure, its verdict.
void expect_probes_recorded(const std::vector<nlohmann::json>& records) {
  int probes = 0;
  for (const auto& r : records) {
    if (!r["isolation"].is_object() || !r["isolation"].contains("probe") || r["criterion"].is_null()) continue;
    ++probes;
    EXPECT_FALSE(r["isolation"]["members"].empty()) << r.dump();
    EXPECT_TRUE(r["value"].is_number()) << r.dump();
    EXPECT_EQ(r["verdict"] == "pass", r["isolation"]["outcome"] == "pass") << r.dump();
  }
  EXPECT_GT(probes, 0);
}

TEST_F(RunnerTest, IsolationNamesTheSlowHostAndNothingElse) {
  Slowdowns slow;
  slow.hosts.push_back(parse_slow_host("h3=30"));
  const auto [codes, dir] = run({}, cluster_reduce, two_racks, slow);
  EXPECT_EQ(codes, std::vector<int>(8, 1));
  const auto records = read_records(dir);
  EXPECT_EQ(culprits(records), (std::vector<std::string>{"slow_member h3"}));
  expect_probes_recorded(records);
}

TEST_F(RunnerTest, IsolationNamesASlowLinkAsALinkAndTwoSlowHostsBoth) {
  {
    Slowdowns slow;
    slow.links.push_back(parse_slow_link("h1,h4=30"));
    const auto [codes, dir] = run({}, cluster_reduce, two_racks, slow);
    EXPECT_EQ(codes, std::vector<int>(8, 1));
    EXPECT_EQ(culprits(read_records(dir)), (std::vector<std::string>{"slow_link h1-h4"}));
  }
  {
    Slowdowns slow;
    slow.hosts.push_back(parse_slow_host("h2=30"));
    slow.hosts.push_back(parse_slow_host("h4=30"));
    const auto [codes, dir] = run({}, cluster_reduce, two_racks, slow);
    EXPECT_EQ(codes, std::vector<int>(8, 1));
    EXPECT_EQ(culprits(read_records(dir)), (std::vector<std::string>{"slow_member h2", "slow_member h4"}));
  }
}

TEST_F(RunnerTest, AHealthyGroupIsNotProbed) {
  const auto [codes, dir] = run({}, cluster_reduce, two_racks);
  EXPECT_EQ(codes, std::vector<int>(8, 0));
  for (const auto& r : read_records(dir)) EXPECT_TRUE(r["isolation"].is_null()) << r.dump();
}

const char* consensus_suite = R"(name: consensus
platform: host
defaults: {repetitions: 2, min_time: 0.005s, deadline: 60s}
checks:
  - id: gemm
    kind: gemm
    scope: gpu
    params: {m: 50, n: 8, k: 8, consensus: "%s"}
  - id: step
    kind: transformer_step
    scope: node
    params: {consensus: "%s"}
)";

std::string consensus(bool on) {
  const char* flag = on ? "true" : "false";
  char text[512];
  std::snprintf(text, sizeof text, consensus_suite, flag, flag);
  return text;
}

TEST_F(RunnerTest, ACorruptOutputWithinTheChecksToleranceFailsOnlyItsRankByVote) {
  const std::string suite = consensus(true);
  const auto [codes, dir] = run({parse_fault("gemm:2:corrupt"), parse_fault("step:1:corrupt")}, suite.c_str());
  EXPECT_EQ(codes, (std::vector<int>{1, 1, 1, 1}));
  int failed = 0;
  for (const auto& r : read_records(dir)) {
    const std::string reason = r["reason"];
    const bool corrupt = (r["check"] == "gemm" && r["rank"] == 2) || (r["check"] == "step" && r["group"] == "a");
    EXPECT_EQ(r["verdict"], corrupt ? "fail" : "pass") << r.dump();
    EXPECT_EQ(r["correct"]["ok"], !corrupt) << r.dump();
    EXPECT_EQ(r["digests"].size(), r["check"] == "gemm" ? 1u : 2u) << r.dump();
    if (!corrupt) {
      EXPECT_NE(r["correct"]["detail"].get<std::string>().find("shared by 3 of 4 devices (simulated device)"),
                std::string::npos)
          << r.dump();
      continue;
    }
    ++failed;
    const std::string who = r["check"] == "gemm" ? "rank 2 (b dev0)" : "rank 1 (a dev1)";
    EXPECT_EQ(reason.rfind("consensus: " + who + ": output hash ", 0), 0u) << reason;
    EXPECT_NE(reason.find("differs from the 3 of 4 devices (simulated device) that agree on"), std::string::npos) << reason;
    // The kind's own check passed: only the vote saw it.
    EXPECT_EQ(r["correct"]["detail"].get<std::string>().rfind(r["check"] == "gemm" ? "output 42" : "result 42", 0), 0u);
  }
  EXPECT_EQ(failed, 1 + 4);   // rank 2's tflops; node a's four step figures
}

TEST_F(RunnerTest, WithoutConsensusTheSameCorruptionGoesUnseen) {
  const std::string suite = consensus(false);
  const auto [codes, dir] = run({parse_fault("gemm:2:corrupt"), parse_fault("step:1:corrupt")}, suite.c_str());
  EXPECT_EQ(codes, (std::vector<int>{0, 0, 0, 0}));
  for (const auto& r : read_records(dir)) {
    EXPECT_EQ(r["verdict"], "pass") << r.dump();
    EXPECT_TRUE(r["digests"].is_null());
  }
}

}  // namespace
}  // namespace rackqual
