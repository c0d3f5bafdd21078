#include "rackqual/api/group.hpp"

#include <atomic>

namespace rackqual {

// Ids count up from 1 over the process's life: a group made where an ended one was gets a new one.
Group::Group() {
  static std::atomic<std::uint64_t> next{1};
  id_ = next.fetch_add(1, std::memory_order_relaxed);
}

bool Group::all(bool ok) const { return max_each({ok ? 0.0 : 1.0}).front() == 0.0; }

double Group::max(double value) const { return max_each({value}).front(); }

std::pair<double, int> Group::slowest(double value) const {
  const auto values = all_gather({value});
  int who = 0;
  for (int r = 1; r < static_cast<int>(values.size()); ++r)
    if (values[r] > values[who]) who = r;
  return {values[who], who};
}

}  // namespace rackqual
