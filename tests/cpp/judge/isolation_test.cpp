#include "rackqual/judge/isolation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sim_fleet.hpp"

namespace rackqual {
namespace {

using Kind = Culprit::Kind;

// Every culprit's confirming probe holds it (both ends for a link) and failed as the culprit says.
void expect_confirmed(const Isolation& iso) {
  for (const auto& c : iso.culprits) {
    ASSERT_GE(c.confirmed_by, 0);
    const Probe& p = iso.probes.at(static_cast<std::size_t>(c.confirmed_by));
    EXPECT_NE(std::find(p.members.begin(), p.members.end(), c.member), p.members.end());
    if (c.kind == Kind::slow_link) {
      EXPECT_EQ(p.members, (std::vector<int>{std::min(c.member, c.peer), std::max(c.member, c.peer)}));
      EXPECT_EQ(p.outcome.verdict, ProbeOutcome::Verdict::slow);
    } else if (c.kind == Kind::dead_member) {
      EXPECT_EQ(p.outcome.verdict, ProbeOutcome::Verdict::hung);
      EXPECT_EQ(p.members.size(), 2u);
    } else {
      EXPECT_EQ(p.outcome.verdict, ProbeOutcome::Verdict::slow);
      EXPECT_EQ(p.members.size(), 2u);   // the suspect and a member known good
    }
  }
}

std::vector<std::pair<Kind, int>> members_of(const Isolation& iso) {
  std::vector<std::pair<Kind, int>> out;
  for (const auto& c : iso.culprits) out.emplace_back(c.kind, c.member);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Isolation, NamesOneSlowMember) {
  sim::Fleet fleet(8);
  fleet.slow(5, 0.5);
  const Isolation iso = isolate(sim::iota(8), fleet);
  EXPECT_EQ(members_of(iso), (std::vector<std::pair<Kind, int>>{{Kind::slow_member, 5}}));
  expect_confirmed(iso);
  EXPECT_TRUE(iso.unresolved.empty());
  EXPECT_EQ(static_cast<long>(iso.probes.size()), fleet.probes);
}

TEST(Isolation, NamesSeveralFaultsAtOnceAndTellsSlowFromNeverArriving) {
  sim::Fleet fleet(16);
  fleet.slow(2, 0.3);
  fleet.slow(13, 0.6);
  fleet.kill(9);
  const Isolation iso = isolate(sim::iota(16), fleet);
  EXPECT_EQ(members_of(iso), (std::vector<std::pair<Kind, int>>{
                                 {Kind::slow_member, 2}, {Kind::slow_member, 13}, {Kind::dead_member, 9}}));
  expect_confirmed(iso);
}

TEST(Isolation, NamesASlowLinkAsALinkNotEitherEnd) {
  sim::Fleet fleet(16);
  fleet.slow_link(3, 12, 0.4);
  const Isolation iso = isolate(sim::iota(16), fleet);
  ASSERT_EQ(iso.culprits.size(), 1u);
  EXPECT_EQ(iso.culprits[0].kind, Kind::slow_link);
  EXPECT_EQ(std::minmax(iso.culprits[0].member, iso.culprits[0].peer), std::minmax(3, 12));
  expect_confirmed(iso);
}

TEST(Isolation, NamesALinkBetweenNeighbours) {
  sim::Fleet fleet(8);
  fleet.slow_link(4, 5, 0.5);
  const Isolation iso = isolate(sim::iota(8), fleet);
  ASSERT_EQ(iso.culprits.size(), 1u);
  EXPECT_EQ(iso.culprits[0].kind, Kind::slow_link);
  EXPECT_EQ(std::minmax(iso.culprits[0].member, iso.culprits[0].peer), std::minmax(4, 5));
}

TEST(Isolation, AHealthyGroupYieldsNoCulprit) {
  sim::Fleet fleet(8);
  const Isolation iso = isolate(sim::iota(8), fleet);
  EXPECT_TRUE(iso.culprits.empty());
  EXPECT_FALSE(iso.probes.empty());   // what it tested is still reported
}

TEST(Isolation, EveryProbeIsRecordedWithItsRound) {
  sim::Fleet fleet(32);
  fleet.slow(7, 0.5);
  fleet.slow(20, 0.5);
  const Isolation iso = isolate(sim::iota(32), fleet);
  int last = 0;
  for (const auto& p : iso.probes) {
    EXPECT_GE(p.round, last);
    last = p.round;
    EXPECT_FALSE(p.purpose.empty());
    EXPECT_TRUE(std::is_sorted(p.members.begin(), p.members.end()));
  }
  EXPECT_EQ(last, fleet.rounds);
}

// Random plants: the culprits found are exactly the planted ones, within 2 d log2(N/d) + d probes
// where at most a quarter of the members are faulty (with half of them faulty, finding a member
// known good can take a probe more; bench/isolation_cost prints those cases).
TEST(Isolation, ExactCulpritsWithinTheProbeBound) {
  std::mt19937 rng(7);
  for (int n : {8, 64, 256}) {
    for (int d : {1, 2, 4}) {
      for (int trial = 0; trial < 40; ++trial) {
        sim::Fleet fleet(n);
        std::vector<int> members = sim::iota(n);
        std::shuffle(members.begin(), members.end(), rng);
        std::vector<std::pair<Kind, int>> planted;
        for (int f = 0; f < d; ++f) {
          const bool dead = f % 2 == 1;
          if (dead) fleet.kill(members[f]);
          else fleet.slow(members[f], 0.5);
          planted.emplace_back(dead ? Kind::dead_member : Kind::slow_member, members[f]);
        }
        std::sort(planted.begin(), planted.end());
        const Isolation iso = isolate(sim::iota(n), fleet);
        ASSERT_EQ(members_of(iso), planted) << "n " << n << " d " << d << " trial " << trial;
        expect_confirmed(iso);
        const double bound = 2.0 * d * std::log2(static_cast<double>(n) / d) + d;
        if (4 * d <= n) {
          EXPECT_LE(static_cast<double>(iso.probes.size()), bound) << "n " << n << " d " << d << " trial " << trial;
        }
      }
    }
  }
}

}  // namespace
}  // namespace rackqual
