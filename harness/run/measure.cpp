#include "rackqual/run/measure.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <stdexcept>

#include "rackqual/base/stats.hpp"

namespace rackqual {
namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Keeps each repetition's seconds per launch, and passes every run on to another reporter.
class Collector : public benchmark::BenchmarkReporter {
 public:
  explicit Collector(benchmark::BenchmarkReporter* next) : next_(next) {}
  bool ReportContext(const Context& context) override { return !next_ || next_->ReportContext(context); }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.run_type != Run::RT_Iteration) continue;
      if (run.error_occurred) {
        error = run.error_message;
        continue;
      }
      seconds.push_back(run.real_accumulated_time / static_cast<double>(run.iterations));
    }
    if (next_) next_->ReportRuns(runs);
  }
  std::vector<double> seconds;
  std::string error;

 private:
  benchmark::BenchmarkReporter* next_;
};

// A rank's figure for a step that threw: larger than any other rank's, so the group's maximum,
// which every rank takes anyway, tells every rank at once that some rank failed.
constexpr double failed = std::numeric_limits<double>::infinity();

// What `step` threw on this rank (a measurement's failure), or null. World's Abandoned goes on.
template <typename F>
std::exception_ptr attempt(F&& step) {
  try {
    step();
  } catch (const std::exception&) {
    return std::current_exception();
  }
  return nullptr;
}

// Once the group knows that some rank failed a step: throws on every rank, each failing rank its
// own failure, the others GroupFailure naming them.
[[noreturn]] void fail_together(const Group& group, const std::exception_ptr& mine) {
  const auto flags = group.all_gather({mine ? 1.0 : 0.0});
  if (mine) std::rethrow_exception(mine);
  std::vector<int> ranks;
  for (int r = 0; r < group.size(); ++r)
    if (flags[static_cast<std::size_t>(r)] != 0) ranks.push_back(group.world_rank(r));
  throw GroupFailure(std::move(ranks));
}

// Releases a held stream on every way out of a timed batch (a no-op after stop()).
struct ReleaseOnExit {
  Timer& timer;
  ~ReleaseOnExit() { timer.release(); }
};

// One timed batch: `launches` launches between the timer's marks, then `inside` (when given).
double timed_batch(Op& op, Timer& timer, long launches, bool hold, const std::function<void()>& inside = {}) {
  {
    const ReleaseOnExit release{timer};
    timer.start(hold);
    for (long i = 0; i < launches; ++i) op.launch();
    if (inside) inside();
    timer.stop();
  }
  op.wait();
  return timer.elapsed();
}

std::vector<double> flatten(const std::map<std::string, double>& phases) {
  std::vector<double> out;
  for (const auto& [name, seconds] : phases) out.push_back(seconds);
  return out;
}

// Takes one timing sample after another: ranks aligned, one timed batch, the slowest rank's time
// per launch (and its phases, added to the caller's sums, so that they add up to the time). A
// batch that throws on any rank ends the sample on every rank (fail_together).
class Sampler {
 public:
  Sampler(Op& op, Timer& timer, const Group& group, const TimingPlan& plan, long launches, bool phased, bool hold)
      : op_(op), timer_(timer), group_(group), plan_(plan), launches_(launches), phased_(phased), hold_(hold),
        collective_(group.size() > 1) {}

  double sample(std::map<std::string, double>& sums) {
    if (collective_) {
      if (plan_.before_sample) plan_.before_sample();
      const double arrived = now();
      group_.barrier();
      waits_.push_back(now() - arrived);
    }
    double mine = failed;
    const auto failure = attempt([&] { mine = timed_batch(op_, timer_, launches_, hold_, plan_.inside_sample); });
    const auto [slowest, who] = collective_ ? group_.slowest(mine) : std::pair{mine, 0};
    if (slowest == failed) fail_together(group_, failure);
    if (phased_) {
      const auto mine_phases = op_.phases();
      auto values = flatten(mine_phases);
      if (collective_) values = group_.all_gather(values);
      std::size_t i = static_cast<std::size_t>(who) * mine_phases.size();
      for (const auto& [name, unused] : mine_phases) sums[name] += values[i++];
    }
    return slowest / static_cast<double>(launches_);
  }

  // This rank's wait at each alignment so far.
  const std::vector<double>& waits() const { return waits_; }

 private:
  Op& op_;
  Timer& timer_;
  const Group& group_;
  const TimingPlan& plan_;
  long launches_;
  bool phased_;
  bool hold_;
  bool collective_;
  std::vector<double> waits_;
};

// A repetition's mean sample, from the sum of its samples.
Sample mean_of(double total, std::map<std::string, double> sums, double n) {
  for (auto& [name, sum] : sums) sum /= n;
  return Sample(total / n, std::move(sums));
}

// The repetitions timed by a plain loop of the same samples (simulated ranks share a process).
std::vector<Sample> plain_loop_repetitions(Sampler& sampler, const TimingPlan& plan, long batches) {
  std::vector<Sample> out;
  for (int r = 0; r < plan.repetitions; ++r) {
    std::map<std::string, double> sums;
    double total = 0;
    for (long b = 0; b < batches; ++b) total += sampler.sample(sums);
    out.push_back(mean_of(total, std::move(sums), static_cast<double>(batches)));
  }
  return out;
}

// What the Google Benchmark repetitions saw: their mean samples, or why they stopped.
struct LibraryRuns {
  std::vector<Sample> repetitions;
  std::exception_ptr failure;   // the group's failure of a sample, rethrown after the library
  std::exception_ptr escaped;   // what is not a measurement's failure (World's Abandoned) goes on after the library
};

// One repetition's body as Google Benchmark runs it: `batches` samples, their manual time.
void library_repetition(benchmark::State& state, Sampler& sampler, const TimingPlan& plan, LibraryRuns& runs) {
  // The library runs every remaining repetition after an error: each ends before its first
  // sample, on every rank alike, since the whole group saw the failure at the same sample.
  if (runs.failure || runs.escaped) {
    state.SkipWithError("an earlier repetition failed");
    return;
  }
  std::map<std::string, double> sums;
  double total = 0;
  for (auto _ : state) {
    try {
      const double seconds = sampler.sample(sums);
      total += seconds;
      state.SetIterationTime(seconds);
    } catch (const std::exception& e) {
      runs.failure = std::current_exception();
      state.SkipWithError(e.what());
      break;
    } catch (...) {
      runs.escaped = std::current_exception();
      state.SkipWithError("abandoned");
      break;
    }
  }
  if (runs.failure || runs.escaped || state.iterations() == 0) return;
  runs.repetitions.push_back(mean_of(total, std::move(sums), static_cast<double>(state.iterations())));
  if (plan.metrics)
    for (const auto& [metric, value] : plan.metrics(runs.repetitions.back())) state.counters[metric] = value;
}

// The repetitions timed by Google Benchmark: the library's figure per repetition (its manual
// time over its iterations), our phases; every run handed on to `reporter`.
std::vector<Sample> library_repetitions(Sampler& sampler, const TimingPlan& plan, long batches,
                                        benchmark::BenchmarkReporter* reporter) {
  LibraryRuns runs;
  benchmark::ClearRegisteredBenchmarks();
  benchmark::RegisterBenchmark(plan.name.c_str(),
                               [&](benchmark::State& state) { library_repetition(state, sampler, plan, runs); })
      ->UseManualTime()
      ->Iterations(batches)
      ->Repetitions(plan.repetitions)
      ->ReportAggregatesOnly(false);
  Collector collector(reporter);
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::ClearRegisteredBenchmarks();
  if (runs.escaped) std::rethrow_exception(runs.escaped);
  if (runs.failure) std::rethrow_exception(runs.failure);
  if (!collector.error.empty()) throw std::runtime_error(collector.error);
  if (static_cast<int>(collector.seconds.size()) != plan.repetitions || runs.repetitions.size() != collector.seconds.size())
    throw std::runtime_error("benchmark library reported " + std::to_string(collector.seconds.size()) +
                             " repetitions, expected " + std::to_string(plan.repetitions));
  std::vector<Sample> out;
  for (std::size_t r = 0; r < collector.seconds.size(); ++r) out.emplace_back(collector.seconds[r], runs.repetitions[r].phases);
  return out;
}

// Arrival: each rank's lateness at every alignment against the first to arrive there (the
// median over the samples). The rank that arrives last waits least at the barrier.
std::vector<double> lateness(const Group& group, const std::vector<double>& waits) {
  const auto all = group.all_gather(waits);
  const std::size_t samples = waits.size();
  std::vector<double> out;
  for (int r = 0; r < group.size(); ++r) {
    std::vector<double> late;
    for (std::size_t s = 0; s < samples; ++s) {
      double longest = 0;
      for (int q = 0; q < group.size(); ++q) longest = std::max(longest, all[q * samples + s]);
      late.push_back(longest - all[r * samples + s]);
    }
    out.push_back(late.empty() ? 0 : percentile(late, 0.5));
  }
  return out;
}

}  // namespace

GroupFailure::GroupFailure(std::vector<int> world_ranks)
    : std::runtime_error([&] {
        std::string who;
        for (int r : world_ranks) who += (who.empty() ? "" : ", ") + std::to_string(r);
        return (world_ranks.size() == 1 ? "rank " : "ranks ") + who + " of the group failed at the same step";
      }()),
      ranks_(std::move(world_ranks)) {}

Batching plan_batches(double seconds_per_launch, const TimingPlan& plan, bool one_launch_per_batch, int stream_entries) {
  Batching b;
  // A held batch queues launches x stream_entries entries behind the hold: at most the budget.
  long most = std::max(1L, plan.batch_max);
  if (stream_entries > 0) most = std::clamp(plan.stream_budget / stream_entries, 1L, most);
  if (!(seconds_per_launch > 0) || !std::isfinite(seconds_per_launch)) {
    b.launches = one_launch_per_batch ? 1 : most;
    b.batches = defaults::most_batches;
    return b;
  }
  if (!one_launch_per_batch)
    b.launches = static_cast<long>(std::clamp(std::ceil(plan.batch_min / seconds_per_launch), 1.0, static_cast<double>(most)));
  const double batch = seconds_per_launch * static_cast<double>(b.launches);
  b.batches = static_cast<long>(std::clamp(std::ceil(plan.min_time / batch), 1.0, static_cast<double>(defaults::most_batches)));
  return b;
}

Timing time_op(Op& op, Timer& timer, const Group& group, const TimingPlan& plan, benchmark::BenchmarkReporter* reporter) {
  const bool collective = group.size() > 1;
  const auto warmup = attempt([&] {
    for (int i = 0; i < std::max(1, plan.warmup); ++i) op.launch();
    op.wait();
  });
  if (!group.all(!warmup)) fail_together(group, warmup);
  // An operation that reports phases completes each launch (the stream is never held for it);
  // its phases are those of one launch, so a batch is one launch. One that leaves nothing queued,
  // or more than a held batch may queue, is not held either.
  const bool phased = !op.phases().empty();
  const int entries = op.stream_entries();
  const bool hold = !phased && entries > 0 && entries <= plan.stream_budget;

  // Calibration from a common start (held, within the budget too); the slowest rank sizes the
  // batches for every rank.
  if (collective) group.barrier();
  const long calibration = hold ? std::min<long>(plan.calibration, plan.stream_budget / entries) : plan.calibration;
  double mine = failed;
  const auto failure = attempt([&] { mine = timed_batch(op, timer, calibration, hold) / static_cast<double>(calibration); });
  const double per_launch = group.max(mine);
  if (per_launch == failed) fail_together(group, failure);
  Timing timing;
  timing.batching = plan_batches(per_launch, plan, phased, hold ? entries : 0);

  Sampler sampler(op, timer, group, plan, timing.batching.launches, phased, hold);
  timing.samples = plan.engine == TimingPlan::Engine::plain_loop
                       ? plain_loop_repetitions(sampler, plan, timing.batching.batches)
                       : library_repetitions(sampler, plan, timing.batching.batches, reporter);
  if (collective) timing.late_s = lateness(group, sampler.waits());
  return timing;
}

}  // namespace rackqual
