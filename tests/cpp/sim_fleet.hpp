#pragma once
// A simulated fleet for the isolation planner: members that are healthy, slow by a factor, or
// never arrive, and slow links between pairs. A probe's figure is its slowest member's speed
// times its slowest link's factor among the members it joins (a ring is as fast as its slowest
// hop); it passes at 0.9 or more and hangs when a member never arrives.
#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

#include "rackqual/judge/isolation.hpp"

namespace rackqual::sim {

class Fleet : public Prober {
 public:
  explicit Fleet(int members) : speed_(static_cast<std::size_t>(members), 1.0), dead_(static_cast<std::size_t>(members), false) {}
  void slow(int m, double factor) { speed_.at(static_cast<std::size_t>(m)) = factor; }
  void kill(int m) { dead_.at(static_cast<std::size_t>(m)) = true; }
  void slow_link(int a, int b, double factor) { links_[{std::min(a, b), std::max(a, b)}] = factor; }

  std::vector<ProbeOutcome> run(const std::vector<std::vector<int>>& groups) override {
    std::set<int> seen;
    std::vector<ProbeOutcome> out;
    for (const auto& g : groups) {
      if (g.size() < 2) throw std::logic_error("a probe of fewer than two members");
      for (int m : g)
        if (!seen.insert(m).second) throw std::logic_error("probes of one round overlap");
      ++probes;
      member_probes += static_cast<long>(g.size());
      ProbeOutcome o;
      for (int m : g)
        if (dead_[static_cast<std::size_t>(m)]) o.missing.push_back(m);
      if (!o.missing.empty()) {
        o.verdict = ProbeOutcome::Verdict::hung;
        hung += 1;
        out.push_back(o);
        continue;
      }
      double figure = 1.0;
      for (int m : g) figure = std::min(figure, speed_[static_cast<std::size_t>(m)]);
      const std::set<int> in(g.begin(), g.end());
      for (const auto& [pair, factor] : links_)
        if (in.count(pair.first) && in.count(pair.second)) figure = std::min(figure, factor);
      o.figure = figure;
      o.verdict = figure >= 0.9 ? ProbeOutcome::Verdict::pass : ProbeOutcome::Verdict::slow;
      out.push_back(o);
    }
    ++rounds;
    return out;
  }

  long probes = 0, member_probes = 0, hung = 0, rounds = 0;

 private:
  std::vector<double> speed_;
  std::vector<bool> dead_;
  std::map<std::pair<int, int>, double> links_;
};

inline std::vector<int> iota(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

}  // namespace rackqual::sim
