// Timing accuracy of the harness on the host, part (a): an operation of known duration, a
// calibrated busy loop of 5 us, 50 us and 5 ms, measured through the harness (time_op with the
// host backend's timer and Google Benchmark) against its duration.
// Usage: timing_accuracy [rounds]   (default 5)
// Each round calibrates the loop's rate (iterations per second) and sizes each loop to its
// duration; the loop's known duration is then timed bare with steady_clock the way the harness
// times it (11 repetitions of calls back to back for 0.05 s, the median repetition's time per
// call), side by side with the harness's figure. Prints one JSON line per duration with the medians over rounds and
// their ratio; exits 1 when the harness is off by more than 2%.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <benchmark/benchmark.h>

#include "rackqual/api/backend.hpp"
#include "rackqual/base/stats.hpp"
#include "rackqual/run/measure.hpp"
#include "rackqual/world/fake_world.hpp"

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

// The known duration of one call of `op`, timed bare with steady_clock as the harness times it:
// repetitions of calls back to back for about `min_time`, each the total over its calls; the
// median repetition.
double known_duration(Op& op, double duration, double min_time, int repetitions) {
  const long calls = std::max(1L, std::lround(min_time / duration));
  std::vector<double> seconds;
  for (int r = 0; r < repetitions; ++r) {
    const auto start = std::chrono::steady_clock::now();
    for (long c = 0; c < calls; ++c) op.launch();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                      static_cast<double>(calls));
  }
  return percentile(seconds, 0.5);
}

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
  std::vector<std::vector<double>> known(durations.size()), harness(durations.size());
  for (int round = 0; round < rounds; ++round) {
    for (std::size_t d = 0; d < durations.size(); ++d) {
      BusyLoop op(static_cast<std::uint64_t>(std::llround(calibrate(25) * durations[d])));
      TimingPlan plan;
      plan.repetitions = 11;
      plan.min_time = 0.05;
      known[d].push_back(known_duration(op, durations[d], plan.min_time, plan.repetitions));
      auto timer = backend->timer();
      plan.name = "busy_loop";
      const Timing t = time_op(op, *timer, alone, plan);
      std::vector<double> seconds;
      for (const auto& s : t.samples) seconds.push_back(s.seconds);
      harness[d].push_back(percentile(seconds, 0.5));
    }
  }
  int code = 0;
  for (std::size_t d = 0; d < durations.size(); ++d) {
    const double bare = percentile(known[d], 0.5), measured = percentile(harness[d], 0.5);
    const double ratio = measured / bare;
    std::printf("{\"duration_us\": %g, \"known_us\": %.4f, \"harness_us\": %.4f, \"ratio\": %.4f, \"within_2pct\": %s}\n",
                durations[d] * 1e6, bare * 1e6, measured * 1e6, ratio, std::fabs(ratio - 1) <= 0.02 ? "true" : "false");
    if (std::fabs(ratio - 1) > 0.02) code = 1;
  }
  return code;
}
