#pragma once
// Timing an operation with Google Benchmark. The harness owns timing: it warms up, calibrates,
// groups launches into timed batches between two marks of the backend's timer (so launch
// latency and the marks' cost vanish), aligns the ranks of a collective before each batch (so
// arrival skew does not shorten or stretch it), and takes each batch's time from the slowest
// rank, whose phases come with it. Google Benchmark runs the repetitions, computes their
// aggregates and hands every run to a reporter.
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "rackqual/api/backend.hpp"
#include "rackqual/api/group.hpp"
#include "rackqual/api/kind.hpp"
#include "rackqual/base/defaults.hpp"

namespace benchmark {
class BenchmarkReporter;   // Google Benchmark's, whose header only measure.cpp needs
}  // namespace benchmark

namespace rackqual {

struct TimingPlan {
  int warmup = defaults::warmup_launches;
  int calibration = defaults::calibration_launches;
  int repetitions = defaults::repetitions;
  double min_time = defaults::min_time_s;    // seconds per repetition
  double batch_min = defaults::batch_min_s;  // seconds per timed batch, at least
  long batch_max = defaults::batch_max_launches;
  long stream_budget = defaults::held_stream_entries;   // stream entries one held batch may queue
  std::string name = "op";                   // the benchmark's name in Google Benchmark's output
  // Runs on this rank just before it aligns with the others for a sample (a fault that makes
  // it arrive late); nothing by default.
  std::function<void()> before_sample;
  // Runs on this rank inside every timed sample, after its launches and before the end mark,
  // while a GPU stream is held (a fault that fails there); nothing by default.
  std::function<void()> inside_sample;
  // Google Benchmark runs the repetitions. It keeps one registry per process, so simulated
  // ranks sharing a process (FakeWorld) time with a plain loop of the same samples instead.
  enum class Engine { benchmark_library, plain_loop };
  Engine engine = Engine::benchmark_library;
  // Metrics of one repetition's mean sample, reported as Google Benchmark counters.
  std::function<std::map<std::string, double>(const Sample&)> metrics;
};

// How many launches go into one timed batch, and how many batches into one repetition, from
// the slowest rank's seconds per launch (every rank must agree, or a collective deadlocks).
struct Batching {
  long launches = 1;
  long batches = 1;
};
// `stream_entries`: what each launch leaves queued (Op::stream_entries); a batch queues at most
// plan.stream_budget of them (one launch at least).
Batching plan_batches(double seconds_per_launch, const TimingPlan& plan, bool one_launch_per_batch, int stream_entries = 1);

// Thrown by time_op on the ranks that did not fail when another rank of the group failed at the
// same step (warm-up, calibration or a timed sample); the failing ranks throw their own failure.
// Every rank of the group throws at that step, so none waits for another in a later agreement.
class GroupFailure : public std::runtime_error {
 public:
  explicit GroupFailure(std::vector<int> world_ranks);
  const std::vector<int>& ranks() const { return ranks_; }

 private:
  std::vector<int> ranks_;
};

// What the group measured, the same on every rank of it.
struct Timing {
  std::vector<Sample> samples;   // per repetition: the slowest rank's seconds per launch and phases
  Batching batching;
  // Per group rank: the median over samples of how much later it reached the alignment before
  // a sample than the first rank to reach it (0 for the first; empty for one rank).
  std::vector<double> late_s;
};

// Times `op` on every rank of `group` together. Runs are handed to `reporter` when given. A
// failure on any rank ends the timing on every rank at the same step (GroupFailure above); a held
// stream is released on every path.
Timing time_op(Op& op, Timer& timer, const Group& group, const TimingPlan& plan,
               benchmark::BenchmarkReporter* reporter = nullptr);

}  // namespace rackqual
