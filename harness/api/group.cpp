#include "rackqual/api/group.hpp"

namespace rackqual {

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
