#include "rackqual/measure.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

namespace rackqual {
namespace {

// Keeps each repetition's time per iteration; prints nothing (rank 0 prints our own table).
class Collector : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& run : runs) {
      if (run.run_type != Run::RT_Iteration) continue;
      if (run.error_occurred) {
        error = run.error_message;
        continue;
      }
      seconds.push_back(run.real_accumulated_time / static_cast<double>(run.iterations));
    }
  }
  std::vector<double> seconds;
  std::string error;
};

}  // namespace

long agreed_iterations(double seconds_per_iteration, double min_time) {
  constexpr long most = 10'000'000;
  if (!(seconds_per_iteration > 0)) return most;
  const double wanted = std::ceil(min_time / seconds_per_iteration);
  return static_cast<long>(std::clamp(wanted, 1.0, static_cast<double>(most)));
}

std::vector<Sample> time_op(Op& op, const Group& group, const TimingPlan& plan) {
  for (int i = 0; i < plan.warmup; ++i) op.run();
  double calibration = 0;
  for (int i = 0; i < plan.calibration; ++i) calibration += op.run();
  // The slowest rank sets the count: every rank then runs exactly as many iterations.
  const long iterations = agreed_iterations(group.max(calibration / plan.calibration), plan.min_time);

  std::string failure;
  std::vector<std::map<std::string, double>> phases;   // summed over each repetition's iterations
  benchmark::ClearRegisteredBenchmarks();
  benchmark::RegisterBenchmark("rackqual/op",
                               [&](benchmark::State& state) {
                                 group.barrier();
                                 auto& sums = phases.emplace_back();
                                 for (auto _ : state) {
                                   try {
                                     state.SetIterationTime(op.run());
                                     for (const auto& [name, t] : op.phases()) sums[name] += t;
                                   } catch (const std::exception& e) {
                                     failure = e.what();
                                     state.SkipWithError(failure.c_str());
                                     break;
                                   }
                                 }
                               })
      ->UseManualTime()
      ->Iterations(iterations)
      ->Repetitions(plan.repetitions);
  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::ClearRegisteredBenchmarks();
  if (!failure.empty()) throw std::runtime_error(failure);
  if (!collector.error.empty()) throw std::runtime_error(collector.error);
  if (static_cast<int>(collector.seconds.size()) != plan.repetitions)
    throw std::runtime_error("benchmark library reported " + std::to_string(collector.seconds.size()) +
                             " repetitions, expected " + std::to_string(plan.repetitions));
  std::vector<Sample> samples;
  for (std::size_t r = 0; r < collector.seconds.size(); ++r) {
    Sample sample(collector.seconds[r]);
    for (const auto& [name, total] : phases.at(r)) sample.phases[name] = total / static_cast<double>(iterations);
    samples.push_back(std::move(sample));
  }
  return samples;
}

std::vector<Sample> slowest(const std::vector<Sample>& mine, const Group& group) {
  // Flattened: each repetition's seconds, then its phases in name order (every rank runs
  // the same operation, so every rank has the same phase names).
  std::vector<double> flat;
  for (const auto& s : mine) {
    flat.push_back(s.seconds);
    for (const auto& [name, t] : s.phases) flat.push_back(t);
  }
  flat = group.max_each(flat);
  std::vector<Sample> out;
  std::size_t i = 0;
  for (const auto& s : mine) {
    Sample worst(flat[i++]);
    for (const auto& [name, t] : s.phases) worst.phases[name] = flat[i++];
    out.push_back(std::move(worst));
  }
  return out;
}

}  // namespace rackqual
