#pragma once
// Timing an operation with Google Benchmark: warm-up, an iteration count agreed by every
// rank of the group, manual time from the backend's timer, repetitions.
#include <vector>

#include "rackqual/backend.hpp"
#include "rackqual/group.hpp"
#include "rackqual/kind.hpp"

namespace rackqual {

struct TimingPlan {
  int warmup = 2;          // untimed iterations before calibration
  int calibration = 3;     // iterations timed to choose the count
  int repetitions = 5;
  double min_time = 0.2;   // seconds per repetition
};

// Iterations per repetition so that one lasts about `min_time`, from the slowest rank's
// time per iteration (every rank must agree, or a collective deadlocks).
long agreed_iterations(double seconds_per_iteration, double min_time);

// Each repetition's mean iteration, as this rank measured it: seconds, and phase seconds.
std::vector<Sample> time_op(Op& op, const Group& group, const TimingPlan& plan);
// The slowest rank's figures, repetition by repetition and phase by phase (a collective).
std::vector<Sample> slowest(const std::vector<Sample>& mine, const Group& group);

}  // namespace rackqual
