// Isolation cost against a simulated fleet, through the pure planner (harness isolation.hpp).
// Usage: isolation_cost [trials]   (default 100)
// For N = 8, 64, 512, 4096 members and d = 1, 2, 4 faulty ones (slow and never arriving,
// alternately, at random places), prints per (N, d): probes used (mean, max) against the bound
// 2 d log2(N/d) + d, rounds, GPU-seconds (members x probe time; a probe takes 1 s, a hung one
// its deadline, 10 s), and whether the culprits found were exactly the planted ones every time;
// beside them all-pairs testing (N(N-1)/2 probes of 2 members) and one-fault bisection
// (d log2 N probes, halves of N/2, N/4, ... members). Exits 1 when a culprit set is not exact.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "rackqual/judge/isolation.hpp"
#include "sim_fleet.hpp"

namespace {

using namespace rackqual;

constexpr double probe_s = 1.0, deadline_s = 10.0;

double gpu_seconds(const Isolation& iso) {
  double total = 0;
  for (const auto& p : iso.probes)
    total += static_cast<double>(p.members.size()) * (p.outcome.verdict == ProbeOutcome::Verdict::hung ? deadline_s : probe_s);
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  const int trials = argc > 1 ? std::atoi(argv[1]) : 100;
  std::mt19937 rng(2026);
  int code = 0;
  std::printf("%6s %2s | %9s %5s %7s %8s | %7s %11s | %6s | %12s %12s | %10s %10s\n", "N", "d", "probes", "max", "bound",
              "within", "rounds", "GPU-s", "exact", "all-pairs", "GPU-s", "bisection", "GPU-s");
  for (int n : {8, 64, 512, 4096}) {
    for (int d : {1, 2, 4}) {
      double probes = 0, rounds = 0, seconds = 0;
      std::size_t most = 0;
      int exact = 0, within = 0;
      const double bound = 2.0 * d * std::log2(static_cast<double>(n) / d) + d;
      for (int t = 0; t < trials; ++t) {
        sim::Fleet fleet(n);
        std::vector<int> order = sim::iota(n);
        std::shuffle(order.begin(), order.end(), rng);
        std::vector<std::pair<Culprit::Kind, int>> planted, found;
        for (int f = 0; f < d; ++f) {
          if (f % 2 == 1) {
            fleet.kill(order[f]);
            planted.emplace_back(Culprit::Kind::dead_member, order[f]);
          } else {
            fleet.slow(order[f], 0.5);
            planted.emplace_back(Culprit::Kind::slow_member, order[f]);
          }
        }
        const Isolation iso = isolate(sim::iota(n), fleet);
        for (const auto& c : iso.culprits) found.emplace_back(c.kind, c.member);
        std::sort(planted.begin(), planted.end());
        std::sort(found.begin(), found.end());
        exact += found == planted;
        within += static_cast<double>(iso.probes.size()) <= bound;
        probes += static_cast<double>(iso.probes.size());
        most = std::max(most, iso.probes.size());
        rounds += static_cast<double>(fleet.rounds);
        seconds += gpu_seconds(iso);
      }
      const double pairs = static_cast<double>(n) * (n - 1) / 2;
      // All pairs: every pair once; a pair holding a member that never arrives waits out the deadline.
      const double dead = d / 2;
      const double hung_pairs = dead * (n - 1) - dead * (dead - 1) / 2;
      const double pairs_seconds = 2 * ((pairs - hung_pairs) * probe_s + hung_pairs * deadline_s);
      const double bisection = d * std::log2(static_cast<double>(n));
      const double bisection_seconds = d * static_cast<double>(n - 1) * probe_s;   // halves N/2 + N/4 + ... per fault
      std::printf("%6d %2d | %9.1f %5zu %7.1f %7.0f%% | %7.1f %11.0f | %5.0f%% | %12.0f %12.0f | %10.1f %10.0f\n", n, d,
                  probes / trials, most, bound, 100.0 * within / trials, rounds / trials, seconds / trials,
                  100.0 * exact / trials, pairs, pairs_seconds, bisection, bisection_seconds);
      if (exact != trials) code = 1;
    }
  }
  return code;
}
