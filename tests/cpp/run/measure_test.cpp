#include "rackqual/run/measure.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
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

TEST(PlanBatches, AHeldBatchQueuesAtMostTheStreamBudget) {
  TimingPlan plan;   // budget 512 entries, at most 256 launches
  for (int entries = 1; entries <= 2 * plan.stream_budget; ++entries)
    for (double seconds : {1e-9, 1e-6, 0.0}) {
      const long launches = plan_batches(seconds, plan, false, entries).launches;
      if (entries <= plan.stream_budget) {
        EXPECT_LE(launches * entries, plan.stream_budget) << entries << " entries, " << seconds << " s";
        EXPECT_GT((launches + 1) * entries, std::min(plan.stream_budget, plan.batch_max * entries));   // no smaller than it must be
      } else {
        EXPECT_EQ(launches, 1) << entries;   // one launch, and time_op does not hold it
      }
    }
  EXPECT_EQ(plan_batches(1e-9, plan, false, 1).launches, 256);   // host operations: as before
  EXPECT_EQ(plan_batches(1e-9, plan, false, 3).launches, 170);   // an NCCL all-reduce
  EXPECT_EQ(plan_batches(1e-9, plan, false, 6).launches, 85);    // NCCL p2p: two groups a launch
  EXPECT_EQ(plan_batches(1e-9, plan, false, 0).launches, 256);   // nothing stays queued: no cap
  EXPECT_EQ(plan_batches(1e-3, plan, false, 6).launches, 10);    // long launches fill batch_min first
}

TEST(TimingPlan, Defaults) {
  const TimingPlan plan;
  EXPECT_EQ(plan.warmup, 2);
  EXPECT_EQ(plan.calibration, 3);
  EXPECT_EQ(plan.repetitions, 5);
  EXPECT_DOUBLE_EQ(plan.min_time, 0.2);
  EXPECT_DOUBLE_EQ(plan.batch_min, 10e-3);
  EXPECT_EQ(plan.batch_max, 256);
  EXPECT_EQ(plan.stream_budget, 512);
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

// A clock that says whether it holds the stream, as a GPU timer does: each launch "takes" 1 ms.
class HoldClock : public Timer {
 public:
  explicit HoldClock(const long* launches) : launches_(launches) {}
  void start(bool hold) override {
    held = hold;
    first_ = *launches_;
    ++starts;
  }
  void stop() override {
    last_ = *launches_;
    if (held) most_held = std::max(most_held, last_ - first_);
    held = false;
  }
  double elapsed() override { return 1e-3 * static_cast<double>(last_ - first_); }
  void release() noexcept override {
    if (held) ++released_early;
    held = false;
  }
  bool held = false;
  int starts = 0;           // timed batches begun: calibration and samples
  int released_early = 0;   // holds ended by release() rather than stop()
  long most_held = 0;       // the most launches queued behind one hold

 private:
  const long* launches_;
  long first_ = 0, last_ = 0;
};

// A launch that queues `entries` stream entries, and throws at launch number `throw_at` (0: never).
class Failing : public Op {
 public:
  Failing(long throw_at, int entries = 1) : throw_at_(throw_at), entries_(entries) {}
  void launch() override {
    if (++launches == throw_at_) throw std::runtime_error("launch " + std::to_string(launches) + " failed");
  }
  Correctness verify() override { return {true, ""}; }
  void inject_error() override {}
  int stream_entries() const override { return entries_; }
  long launches = 0;

 private:
  long throw_at_;
  int entries_;
};

TimingPlan short_plan(TimingPlan::Engine engine) {
  TimingPlan plan;
  plan.engine = engine;
  plan.repetitions = 5;
  plan.min_time = 0.03;   // 3 batches of 10 launches (10 ms) per repetition
  return plan;
}

TEST(TimeOp, AHeldBatchNeverQueuesMoreStreamEntriesThanTheBudget) {
  for (int entries : {1, 3, 6, 100, 512}) {
    on_ranks(1, [&](FakeWorld& world, int) {
      Failing op(0, entries);
      HoldClock clock(&op.launches);
      TimingPlan plan = short_plan(TimingPlan::Engine::plain_loop);
      plan.batch_min = 1.0;   // 1 ms launches: a batch as long as the cap allows
      const Timing t = time_op(op, clock, world.group(Scope::gpu), plan);
      EXPECT_GT(clock.most_held, 0) << entries;   // held
      EXPECT_LE(clock.most_held * entries, plan.stream_budget) << entries;
      EXPECT_EQ(t.batching.launches, std::min(256L, 512L / entries)) << entries;
    });
  }
  on_ranks(1, [&](FakeWorld& world, int) {   // nothing left queued, or more than the budget: not held
    for (int entries : {0, 513}) {
      Failing op(0, entries);
      HoldClock clock(&op.launches);
      time_op(op, clock, world.group(Scope::gpu), short_plan(TimingPlan::Engine::plain_loop));
      EXPECT_EQ(clock.most_held, 0) << entries;
    }
  });
}

// Runs time_op on 3 ranks where rank `failing` throws at launch `throw_at`; returns what each rank
// threw ("" for none) and checks that every rank stopped at the same batch with its stream released.
std::vector<std::string> fail_on_one_rank(int failing, long throw_at, std::vector<int>* starts = nullptr) {
  std::vector<std::string> thrown(3);
  std::vector<int> begun(3);
  on_ranks(3, [&](FakeWorld& world, int rank) {
    Failing op(rank == failing ? throw_at : 0);
    HoldClock clock(&op.launches);
    try {
      time_op(op, clock, world.group(Scope::node), short_plan(TimingPlan::Engine::plain_loop));
    } catch (const GroupFailure& e) {
      thrown[static_cast<std::size_t>(rank)] = "group: " + std::string(e.what());
      EXPECT_EQ(e.ranks(), std::vector<int>{failing});
    } catch (const std::exception& e) {
      thrown[static_cast<std::size_t>(rank)] = e.what();
    }
    EXPECT_FALSE(clock.held) << "rank " << rank;
    EXPECT_EQ(clock.released_early, rank == failing && clock.starts > 0 ? 1 : 0) << "rank " << rank;
    begun[static_cast<std::size_t>(rank)] = clock.starts;
  });
  if (starts) *starts = begun;
  return thrown;
}

TEST(TimeOp, AFailureInsideASampleOnOneRankStopsEveryRankAtThatSample) {
  // 2 warm-up and 3 calibration launches, then batches of 10: launch 28 is in the third sample.
  std::vector<int> starts;
  const auto thrown = fail_on_one_rank(1, 28, &starts);
  EXPECT_EQ(thrown, (std::vector<std::string>{"group: rank 1 of the group failed at the same step", "launch 28 failed",
                                               "group: rank 1 of the group failed at the same step"}));
  EXPECT_EQ(starts, (std::vector<int>{4, 4, 4}));   // calibration and 3 samples on every rank, none after
}

TEST(TimeOp, AFailureInWarmUpOrCalibrationOnOneRankStopsEveryRank) {
  std::vector<int> starts;
  auto thrown = fail_on_one_rank(2, 1, &starts);   // the first warm-up launch
  EXPECT_EQ(thrown[2], "launch 1 failed");
  EXPECT_EQ(thrown[0], "group: rank 2 of the group failed at the same step");
  EXPECT_EQ(starts, (std::vector<int>{0, 0, 0}));
  thrown = fail_on_one_rank(0, 4, &starts);   // the second calibration launch, while held
  EXPECT_EQ(thrown[0], "launch 4 failed");
  EXPECT_EQ(thrown[1], "group: rank 0 of the group failed at the same step");
  EXPECT_EQ(starts, (std::vector<int>{1, 1, 1}));
}

TEST(TimeOp, AFailureBeforeTheEndMarkReleasesTheStreamOnEveryRankAlike) {
  std::vector<std::string> thrown(2);
  on_ranks(2, [&](FakeWorld& world, int rank) {
    Failing op(0);
    HoldClock clock(&op.launches);
    TimingPlan plan = short_plan(TimingPlan::Engine::plain_loop);
    if (rank == 0) plan.inside_sample = [] { throw std::runtime_error("failed inside the sample"); };
    try {
      time_op(op, clock, world.group(Scope::node), plan);
    } catch (const std::exception& e) {
      thrown[static_cast<std::size_t>(rank)] = e.what();
    }
    EXPECT_FALSE(clock.held);
    EXPECT_EQ(clock.released_early, rank == 0 ? 1 : 0);
    EXPECT_EQ(clock.starts, 2);   // calibration and the first sample
  });
  EXPECT_EQ(thrown, (std::vector<std::string>{"failed inside the sample", "rank 0 of the group failed at the same step"}));
}

TEST(TimeOp, GoogleBenchmarkTakesNoSampleAfterAFailedRepetition) {
  on_ranks(1, [&](FakeWorld& world, int) {
    Failing op(5 + 3 * 10 + 15);   // the second sample of the second repetition
    HoldClock clock(&op.launches);
    try {
      time_op(op, clock, world.group(Scope::gpu), short_plan(TimingPlan::Engine::benchmark_library));
      ADD_FAILURE() << "no exception";
    } catch (const std::exception& e) {
      EXPECT_STREQ(e.what(), "launch 50 failed");
    }
    EXPECT_EQ(op.launches, 50);      // the 3 repetitions left took no sample
    EXPECT_EQ(clock.starts, 1 + 5);  // calibration, 3 samples, 2 samples
    EXPECT_FALSE(clock.held);
    EXPECT_EQ(clock.released_early, 1);
  });
}

}  // namespace
}  // namespace rackqual
