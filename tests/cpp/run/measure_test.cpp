#include "rackqual/run/measure.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>
#include <vector>

#include "rackqual/world/fake_world.hpp"

namespace rackqual {
namespace {

constexpr long most = defaults::most_batches;

// Batches of one launch, so that the counts are those of launches.
Batching single(double seconds, double min_time) {
  TimingPlan plan;
  plan.min_time = min_time;
  return plan_batches(seconds, plan, true);
}

TEST(PlanBatches, FillsMinTime) {
  EXPECT_EQ(single(0.125, 1.0).batches, 8);
  EXPECT_EQ(single(0.001, 0.2).batches, 200);
  EXPECT_EQ(single(0.25, 0.5).batches, 2);
}

TEST(PlanBatches, RoundsUp) {
  EXPECT_EQ(single(0.3, 1.0).batches, 4);
  EXPECT_EQ(single(0.003, 0.2).batches, 67);
}

TEST(PlanBatches, AtLeastOne) {
  EXPECT_EQ(single(5.0, 0.2).batches, 1);
  EXPECT_EQ(single(0.2, 0.2).batches, 1);
  EXPECT_EQ(single(1.0, 0.0).batches, 1);
}

TEST(PlanBatches, CappedForTinyTimes) {
  EXPECT_EQ(single(1e-12, 0.2).batches, most);
  EXPECT_EQ(single(std::numeric_limits<double>::denorm_min(), 1.0).batches, most);
}

TEST(PlanBatches, NonPositiveOrNanTimeGivesTheCap) {
  EXPECT_EQ(single(0.0, 0.2).batches, most);
  EXPECT_EQ(single(-1.0, 0.2).batches, most);
  EXPECT_EQ(single(std::nan(""), 0.2).batches, most);
}

TEST(PlanBatches, SmallOperationsGoInBatchesOfAtLeastBatchMin) {
  TimingPlan plan;
  plan.batch_min = 1e-3;   // min_time 0.2 s
  const Batching b = plan_batches(10e-6, plan, false);
  EXPECT_EQ(b.launches, 100);   // 100 x 10 us = 1 ms per timed batch
  EXPECT_EQ(b.batches, 200);    // 200 x 1 ms = 0.2 s per repetition
  EXPECT_EQ(plan_batches(1e-9, plan, false).launches, plan.batch_max);
  EXPECT_EQ(plan_batches(0.5, plan, false).launches, 1);
}

TEST(TimingPlan, Defaults) {
  const TimingPlan plan;
  EXPECT_EQ(plan.warmup, 2);
  EXPECT_EQ(plan.calibration, 3);
  EXPECT_EQ(plan.repetitions, 5);
  EXPECT_DOUBLE_EQ(plan.min_time, 0.2);
  EXPECT_DOUBLE_EQ(plan.batch_min, 10e-3);
  EXPECT_EQ(plan.batch_max, 256);
}

// A clock the test sets: each launch "takes" a fixed time on each rank, phases in proportion.
class SetClock : public Timer {
 public:
  explicit SetClock(const double* per_launch, const long* launches) : per_launch_(per_launch), launches_(launches) {}
  void start(bool) override { first_ = *launches_; }
  void stop() override { last_ = *launches_; }
  double elapsed() override { return *per_launch_ * static_cast<double>(last_ - first_); }

 private:
  const double* per_launch_;
  const long* launches_;
  long first_ = 0, last_ = 0;
};

class Counted : public Op {
 public:
  Counted(double seconds, bool phased) : seconds_(seconds), phased_(phased) {}
  void launch() override { ++launches; }
  Correctness verify() override { return {true, ""}; }
  void inject_error() override {}
  std::map<std::string, double> phases() const override {
    if (!phased_) return {};
    return {{"forward", seconds_ / 4}, {"backward", 3 * seconds_ / 4}};
  }
  long launches = 0;
  double seconds_;

 private:
  bool phased_;
};

// Runs `body(world, rank)` on `ranks` simulated ranks of one host.
template <typename F>
void on_ranks(int ranks, F body) {
  FakeCluster cluster(std::vector<std::pair<std::string, std::string>>(static_cast<std::size_t>(ranks), {"a", "r"}));
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      FakeWorld world(cluster, r);
      body(world, r);
    });
  for (auto& t : threads) t.join();
}

TEST(TimeOp, SlowestRankSetsEachSampleAndItsPhasesAddUp) {
  std::vector<Timing> timings(3);
  on_ranks(3, [&](FakeWorld& world, int rank) {
    Counted op(rank == 1 ? 0.004 : 0.001, true);   // rank 1 is the slowest
    SetClock clock(&op.seconds_, &op.launches);
    TimingPlan plan;
    plan.engine = TimingPlan::Engine::plain_loop;
    plan.repetitions = 3;
    plan.min_time = 0.01;
    timings[static_cast<std::size_t>(rank)] = time_op(op, clock, world.group(Scope::node), plan);
  });
  for (const auto& t : timings) {
    ASSERT_EQ(t.samples.size(), 3u);
    EXPECT_EQ(t.batching.launches, 1);   // an operation with phases: one launch per batch
    for (const auto& s : t.samples) {
      EXPECT_NEAR(s.seconds, 0.004, 1e-12);
      EXPECT_NEAR(s.phases.at("forward") + s.phases.at("backward"), s.seconds, 1e-12);
      EXPECT_NEAR(s.phases.at("forward"), 0.001, 1e-12);
    }
    ASSERT_EQ(t.late_s.size(), 3u);
  }
}

TEST(TimeOp, BatchesSmallLaunchesAndReportsPerLaunchTime) {
  on_ranks(1, [&](FakeWorld& world, int) {
    Counted op(20e-6, false);
    SetClock clock(&op.seconds_, &op.launches);
    TimingPlan plan;
    plan.batch_min = 1e-3;
    plan.engine = TimingPlan::Engine::plain_loop;
    plan.repetitions = 2;
    plan.min_time = 0.01;
    const Timing t = time_op(op, clock, world.group(Scope::gpu), plan);
    EXPECT_EQ(t.batching.launches, 50);   // 50 x 20 us = 1 ms
    EXPECT_EQ(t.batching.batches, 10);
    for (const auto& s : t.samples) EXPECT_NEAR(s.seconds, 20e-6, 1e-15);
    EXPECT_TRUE(t.late_s.empty());   // one rank: no alignment
  });
}

TEST(TimeOp, NamesTheRankThatArrivesLate) {
  std::vector<Timing> timings(2);
  on_ranks(2, [&](FakeWorld& world, int rank) {
    Counted op(1e-3, false);
    SetClock clock(&op.seconds_, &op.launches);
    TimingPlan plan;
    plan.engine = TimingPlan::Engine::plain_loop;
    plan.repetitions = 3;
    plan.min_time = 0.002;
    if (rank == 1) plan.before_sample = [] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); };
    timings[static_cast<std::size_t>(rank)] = time_op(op, clock, world.group(Scope::node), plan);
  });
  const auto& late = timings[0].late_s;
  ASSERT_EQ(late.size(), 2u);
  EXPECT_GT(late[1], 0.015);   // 20 ms late, less scheduling noise
  EXPECT_LT(late[0], late[1]);
  for (const auto& s : timings[0].samples) EXPECT_NEAR(s.seconds, 1e-3, 1e-12);   // lateness is not timed
}

}  // namespace
}  // namespace rackqual
