// How `--backend auto` decides from every rank's finding, and the choice over a world of ranks.
#include "rackqual/run/backend_choice.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "rackqual/world/fake_world.hpp"

namespace rackqual {
namespace {

using State = GpuFinding::State;

TEST(BackendChoice, EveryRankBoundAGpuMeansCuda) {
  const auto d = decide_auto({{State::bound, ""}, {State::bound, ""}}, {"n1", "n1"});
  EXPECT_EQ(d.outcome, AutoDecision::Outcome::cuda);
  EXPECT_EQ(d.text, "auto: every rank bound a GPU");
}

TEST(BackendChoice, NoRankSeesAGpuMeansHostSaidWithRankZerosReason) {
  const auto d = decide_auto({{State::none, "no driver"}, {State::none, "no driver"}}, {"n1", "n2"});
  EXPECT_EQ(d.outcome, AutoDecision::Outcome::host);
  EXPECT_EQ(d.text, "backend auto: no rank sees a GPU (rank 0: no driver); running on the host backend");
}

TEST(BackendChoice, SomeRanksSeeAGpuButOthersCannotBindOneIsAnErrorNamingEach) {
  const auto d = decide_auto({{State::bound, ""}, {State::unbound, "device 1 busy"}, {State::none, "no driver"}},
                             {"n1", "n1", "n2"});
  EXPECT_EQ(d.outcome, AutoDecision::Outcome::error);
  EXPECT_EQ(d.text, "backend auto: some ranks see a GPU but rank 1 (n1): device 1 busy; rank 2 (n2): no driver "
                    "(launch one rank per GPU, or name --backend host)");
}

TEST(BackendChoice, ANamedBackendIsSetUpOnEveryRankAndAutoIsTheSameEverywhere) {
  FakeCluster cluster({{"n1", "r1"}, {"n1", "r1"}});
  std::vector<std::string> named(2), how(2);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 2; ++r)
    ranks.emplace_back([&, r] {
      FakeWorld world(cluster, r);
      named[static_cast<std::size_t>(r)] = choose_backend(world, "host").backend->name();
      how[static_cast<std::size_t>(r)] = choose_backend(world, "auto").how;
    });
  for (auto& t : ranks) t.join();
  EXPECT_EQ(named, (std::vector<std::string>{"host", "host"}));
  EXPECT_EQ(how[0], how[1]);   // one decision, whatever this machine has
  EXPECT_FALSE(how[0].empty());
}

}  // namespace
}  // namespace rackqual
