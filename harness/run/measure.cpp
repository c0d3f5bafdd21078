#include "rackqual/run/measure.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
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

// One timed batch: `launches` launches between the timer's marks.
double timed_batch(Op& op, Timer& timer, long launches, bool hold) {
  timer.start(hold);
  for (long i = 0; i < launches; ++i) op.launch();
  timer.stop();
  op.wait();
  return timer.elapsed();
}

std::vector<double> flatten(const std::map<std::string, double>& phases) {
  std::vector<double> out;
  for (const auto& [name, seconds] : phases) out.push_back(seconds);
  return out;
}

// Takes one timing sample after another: ranks aligned, one timed batch, the slowest rank's time
// per launch (and its phases, added to the caller's sums, so that they add up to the time).
class Sampler {
 public:
  Sampler(Op& op, Timer& timer, const Group& group, const TimingPlan& plan, long launches, bool phased)
      : op_(op), timer_(timer), group_(group), plan_(plan), launches_(launches), phased_(phased),
        collective_(group.size() > 1) {}

  double sample(std::map<std::string, double>& sums) {
    if (collective_) {
      if (plan_.before_sample) plan_.before_sample();
      const double arrived = now();
      group_.barrier();
      waits_.push_back(now() - arrived);
    }
    const double mine = timed_batch(op_, timer_, launches_, !phased_);
    const auto [slowest, who] = collective_ ? group_.slowest(mine) : std::pair{mine, 0};
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

// What one Google Benchmark repetition saw: its mean samples, or why it stopped.
struct LibraryRuns {
  std::vector<Sample> repetitions;
  std::string failure;
  std::exception_ptr escaped;   // what is not a measurement's failure (World's Abandoned) goes on after the library
};

// One repetition's body as Google Benchmark runs it: `batches` samples, their manual time.
void library_repetition(benchmark::State& state, Sampler& sampler, const TimingPlan& plan, LibraryRuns& runs) {
  std::map<std::string, double> sums;
  double total = 0;
  for (auto _ : state) {
    try {
      const double seconds = sampler.sample(sums);
      total += seconds;
      state.SetIterationTime(seconds);
    } catch (const std::exception& e) {
      runs.failure = e.what();
      state.SkipWithError(runs.failure.c_str());
      break;
    } catch (...) {
      runs.escaped = std::current_exception();
      state.SkipWithError("abandoned");
      break;
    }
  }
  if (!runs.failure.empty() || state.iterations() == 0) return;
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
  if (!runs.failure.empty()) throw std::runtime_error(runs.failure);
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

Batching plan_batches(double seconds_per_launch, const TimingPlan& plan, bool one_launch_per_batch) {
  Batching b;
  if (!(seconds_per_launch > 0) || !std::isfinite(seconds_per_launch)) {
    b.launches = one_launch_per_batch ? 1 : plan.batch_max;
    b.batches = defaults::most_batches;
    return b;
  }
  if (!one_launch_per_batch)
    b.launches = static_cast<long>(std::clamp(std::ceil(plan.batch_min / seconds_per_launch), 1.0,
                                              static_cast<double>(std::max(1L, plan.batch_max))));
  const double batch = seconds_per_launch * static_cast<double>(b.launches);
  b.batches = static_cast<long>(std::clamp(std::ceil(plan.min_time / batch), 1.0, static_cast<double>(defaults::most_batches)));
  return b;
}

Timing time_op(Op& op, Timer& timer, const Group& group, const TimingPlan& plan, benchmark::BenchmarkReporter* reporter) {
  const bool collective = group.size() > 1;
  for (int i = 0; i < std::max(1, plan.warmup); ++i) op.launch();
  op.wait();
  // An operation that reports phases completes each launch (the stream is never held for it);
  // its phases are those of one launch, so a batch is one launch.
  const bool phased = !op.phases().empty();

  // Calibration from a common start; the slowest rank sizes the batches for every rank.
  if (collective) group.barrier();
  const double per_launch = group.max(timed_batch(op, timer, plan.calibration, !phased) / plan.calibration);
  Timing timing;
  timing.batching = plan_batches(per_launch, plan, phased);

  Sampler sampler(op, timer, group, plan, timing.batching.launches, phased);
  timing.samples = plan.engine == TimingPlan::Engine::plain_loop
                       ? plain_loop_repetitions(sampler, plan, timing.batching.batches)
                       : library_repetitions(sampler, plan, timing.batching.batches, reporter);
  if (collective) timing.late_s = lateness(group, sampler.waits());
  return timing;
}

}  // namespace rackqual
