// A group's id: what a backend keys the resources it keeps per group by (an NCCL communicator).
#include "rackqual/api/group.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "rackqual/world/fake_world.hpp"

namespace rackqual {
namespace {

// Probe groups are made and ended round after round; the allocator may place a new one where an
// ended one was, so an address names no group once it ends. The id does: no two are the same.
TEST(GroupIdentity, AGroupMadeWhereAnEndedOneWasHasAnIdOfItsOwn) {
  FakeCluster cluster(std::vector<std::pair<std::string, std::string>>{{"a", "r1"}});
  FakeWorld world(cluster, 0);
  std::set<std::uint64_t> ids = {world.all().id()};
  int rounds = 0;
  for (; rounds < 64; ++rounds) {
    const auto probe = world.split({{0}}, {"probe"});
    ASSERT_NE(probe, nullptr);
    EXPECT_TRUE(ids.insert(probe->id()).second) << "id " << probe->id() << " given twice";
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(rounds) + 1);
  EXPECT_EQ(world.all().id(), *ids.begin());   // a live group keeps its id
}

// Ranks are threads of one process in a simulated run: their groups' ids differ too.
TEST(GroupIdentity, SimulatedRanksOfOneGroupHoldDistinctIds) {
  FakeCluster cluster({{"a", "r1"}, {"a", "r1"}, {"b", "r1"}});
  std::vector<std::uint64_t> ids(3);
  std::vector<std::thread> ranks;
  for (int r = 0; r < 3; ++r)
    ranks.emplace_back([&, r] {
      FakeWorld world(cluster, r);
      ids[static_cast<std::size_t>(r)] = world.all().id();
    });
  for (auto& t : ranks) t.join();
  EXPECT_EQ(std::set<std::uint64_t>(ids.begin(), ids.end()).size(), 3u);
}

}  // namespace
}  // namespace rackqual
