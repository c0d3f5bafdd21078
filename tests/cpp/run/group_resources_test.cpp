// What a backend keeps per group (the cuda backend: an NCCL communicator) across culprit
// isolation, whose probe groups are made and ended round after round: one per live group, each
// built for its own group's members, and none left of a probe once isolation is done.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "kernels/host/timer.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/run/runner.hpp"
#include "rackqual/run/slowdown.hpp"
#include "rackqual/world/fake_world.hpp"
#include "run/cluster_reduce_suite.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

std::vector<int> members_of(const Group& group) {
  std::vector<int> out;
  for (int r = 0; r < group.size(); ++r) out.push_back(group.world_rank(r));
  return out;
}

// Keeps one "communicator" per group, made on an operation's first use of the group, as the
// cuda backend does, and records what it makes and frees. One per rank (a rank is a thread).
class PooledBackend : public Backend {
 public:
  std::string name() const override { return "pooled"; }
  void set_up(int, int) override {}
  DeviceInfo device(int local_rank) const override { return {local_rank, "pooled device", "", ""}; }
  std::map<std::string, std::string> versions() const override { return {{"pooled", "1"}}; }
  std::unique_ptr<Timer> timer() override { return std::make_unique<host::SteadyTimer>(); }
  void release(const Group& group, bool) override {
    if (live_.erase(group.id())) ++released;
  }

  // The group's communicator: made once, for the members it was made for.
  void use(const Group& group) {
    const auto [at, made_now] = live_.emplace(group.id(), members_of(group));
    if (made_now) ++made;
    EXPECT_EQ(at->second, members_of(group)) << "group " << group.name() << " got another group's communicator";
    most_live = std::max(most_live, live_.size());
  }
  std::set<std::uint64_t> live() const {
    std::set<std::uint64_t> out;
    for (const auto& [id, members] : live_) out.insert(id);
    return out;
  }

  int made = 0, released = 0;
  std::size_t most_live = 0;

 private:
  std::map<std::uint64_t, std::vector<int>> live_;   // by Group::id: the members it was made for
};

// allreduce as a maximum across the group over its communicator.
class PooledMax : public Op {
 public:
  explicit PooledMax(const OpContext& ctx) : group_(ctx.group) { dynamic_cast<PooledBackend&>(ctx.backend).use(group_); }
  void launch() override {
    result_ = group_.max(group_.rank() + 1.0);
    std::this_thread::sleep_for(std::chrono::microseconds(100));   // the transfer
  }
  Correctness verify() override { return {result_ == group_.size(), "result " + std::to_string(result_)}; }
  void inject_error() override { result_ = -1; }

 private:
  const Group& group_;
  double result_ = 0;
};

const BackendRegistration pooled("pooled", [] { return std::make_unique<PooledBackend>(); });
const OpRegistration pooled_max("pooled", "allreduce",
                                [](const OpContext& ctx) -> std::unique_ptr<Op> { return std::make_unique<PooledMax>(ctx); });

// Four hosts of two ranks, one all-reduce over all eight; h3 slowed thirty-fold misses the
// criterion, and isolation probes subsets of the hosts until it names h3.
using test::cluster_reduce;

struct RankEnd {
  int code = -1;
  int made = 0, released = 0;
  std::size_t most_live = 0;
  std::set<std::uint64_t> live;
  std::uint64_t cluster = 0;   // the cluster group's id
};

std::vector<RankEnd> run_isolation(const unit::TempDir& tmp, const Suite& suite, const Slowdowns& slowdowns) {
  const Platform platform = load_platform(RACKQUAL_SOURCE_DIR "/suites/platforms/host.yaml");
  FakeCluster cluster({{"h1", "r1"}, {"h1", "r1"}, {"h2", "r1"}, {"h2", "r1"},
                       {"h3", "r2"}, {"h3", "r2"}, {"h4", "r2"}, {"h4", "r2"}});
  std::vector<RankEnd> ends(static_cast<std::size_t>(cluster.size()));
  std::vector<std::thread> ranks;
  for (int r = 0; r < cluster.size(); ++r)
    ranks.emplace_back([&, r] {
      FakeWorld world(cluster, r);
      PooledBackend backend;
      RunOptions options;
      options.out_dir = (tmp.path() / "results").string();
      options.slowdowns = slowdowns;
      Runner runner(world, backend, suite, platform, plan_suite(suite, platform), options);
      RankEnd& end = ends[static_cast<std::size_t>(r)];
      end.code = runner.run();
      end.made = backend.made;
      end.released = backend.released;
      end.most_live = backend.most_live;
      end.live = backend.live();
      end.cluster = world.all().id();
    });
  for (auto& t : ranks) t.join();
  return ends;
}

TEST(GroupResources, IsolationLeavesNoProbeCommunicatorAndKeepsOnePerLiveGroup) {
  unit::TempDir tmp;
  const Suite suite = load_suite(tmp.write("isolate.yaml", cluster_reduce));
  Slowdowns slow;
  slow.hosts.push_back(parse_slow_host("h3=30"));
  const auto ends = run_isolation(tmp, suite, slow);
  int probes = 0;
  for (const RankEnd& end : ends) {
    EXPECT_EQ(end.code, 1);   // the check failed, and isolation ran
    // The cluster's communicator stays while its group lives; every probe's was freed.
    EXPECT_EQ(end.live, std::set<std::uint64_t>{end.cluster});
    EXPECT_EQ(end.released, end.made - 1);
    EXPECT_LE(end.most_live, 2u);   // the cluster's and the one probe this rank is in
    probes += end.made - 1;
  }
  EXPECT_GT(probes, 0) << "no rank took part in a probe";
}

TEST(GroupResources, AHealthyRunMakesOneCommunicatorPerRankAndFreesNone) {
  unit::TempDir tmp;
  const Suite suite = load_suite(tmp.write("isolate.yaml", cluster_reduce));
  for (const RankEnd& end : run_isolation(tmp, suite, {})) {
    EXPECT_EQ(end.code, 0);
    EXPECT_EQ(end.made, 1);
    EXPECT_EQ(end.released, 0);
    EXPECT_EQ(end.live, std::set<std::uint64_t>{end.cluster});
  }
}

}  // namespace
}  // namespace rackqual
