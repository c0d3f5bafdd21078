// Timing accuracy of the harness on the host, part (a): an operation of known duration, a
// calibrated busy loop of 5 us, 50 us and 5 ms, measured through the harness (time_op with the
// host backend's timer and Google Benchmark) against its duration.
// Usage: timing_accuracy [rounds]   (default 5)
// The loop's rate (iterations per second) is calibrated outside the harness just before each
// round, as the fastest of many long runs; a duration's loop runs rate * duration iterations.
// Prints one JSON line per duration: the harness's median and fastest repetition over all rounds
// and their ratios to the duration; exits 1 when the fastest is off by more than 2%.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "rackqual/backend.hpp"
#include "rackqual/fake_world.hpp"
#include "rackqual/measure.hpp"
#include "rackqual/stats.hpp"

namespace {

using namespace rackqual;

// A dependent chain of integer operations the compiler cannot fold or vectorise.
std::uint64_t spin(std::uint64_t iterations, std::uint64_t seed) {
  std::uint64_t x = seed | 1;
  for (std::uint64_t i = 0; i < iterations; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

volatile std::uint64_t sink;

// Iterations per second: the fastest of `runs` runs of about 20 ms each.
double calibrate(int runs) {
  constexpr std::uint64_t n = 4'000'000;
  double best = 1e9;
  for (int r = 0; r < runs; ++r) {
    const auto start = std::chrono::steady_clock::now();
    sink = spin(n, static_cast<std::uint64_t>(r));
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return static_cast<double>(n) / best;
}

class BusyLoop : public Op {
 public:
  explicit BusyLoop(std::uint64_t iterations) : iterations_(iterations) {}
  void launch() override { sink = spin(iterations_, ++seed_); }
  Correctness verify() override { return {true, "busy loop"}; }
  void inject_error() override {}

 private:
  std::uint64_t iterations_;
  std::uint64_t seed_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  int bench_argc = 1;
  benchmark::Initialize(&bench_argc, argv);
  auto backend = BackendRegistry::instance().create("host");
  backend->set_up(0, 1);
  FakeCluster cluster(std::vector<std::pair<std::string, std::string>>{{"host", "rack"}});
  FakeWorld world(cluster, 0);
  const Group& alone = world.group(Scope::gpu);

  const std::vector<double> durations = {5e-6, 50e-6, 5e-3};
  std::vector<std::vector<double>> medians(durations.size()), fastest(durations.size());
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t d = 0; d < durations.size(); ++d) {
      const double rate = calibrate(25);
      BusyLoop op(static_cast<std::uint64_t>(std::llround(rate * durations[d])));
      auto timer = backend->timer();
      TimingPlan plan;
      plan.repetitions = 11;
      plan.min_time = 0.05;
      plan.name = "busy_loop";
      const Timing t = time_op(op, *timer, alone, plan);
      std::vector<double> seconds;
      for (const auto& s : t.samples) seconds.push_back(s.seconds);
      medians[d].push_back(percentile(seconds, 0.5));
      fastest[d].push_back(*std::min_element(seconds.begin(), seconds.end()));
    }
  }
  int code = 0;
  for (std::size_t d = 0; d < durations.size(); ++d) {
    const double median = percentile(medians[d], 0.5);
    const double best = *std::min_element(fastest[d].begin(), fastest[d].end());
    const double ratio = best / durations[d];
    std::printf("{\"duration_us\": %g, \"harness_median_us\": %.4f, \"harness_fastest_us\": %.4f, "
                "\"median_ratio\": %.4f, \"fastest_ratio\": %.4f, \"within_2pct\": %s}\n",
                durations[d] * 1e6, median * 1e6, best * 1e6, median / durations[d], ratio,
                std::fabs(ratio - 1) <= 0.02 ? "true" : "false");
    if (std::fabs(ratio - 1) > 0.02) code = 1;
  }
  return code;
}
