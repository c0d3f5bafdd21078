#include "rackqual/base/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace rackqual {

double percentile(std::vector<double> values, double q) {
  if (values.empty()) throw std::invalid_argument("percentile of no values");
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  const double weight = position - static_cast<double>(below);
  return values[below] + weight * (values[above] - values[below]);
}

int samples_for_percentile(double q) {
  if (!(q > 0 && q < 1)) throw std::invalid_argument("percentile outside (0, 1)");
  return static_cast<int>(std::ceil(1 / (1 - q) - 1e-9));   // n (1 - q) >= 1
}

Stats summarize(const std::vector<double>& values) {
  if (values.empty()) throw std::invalid_argument("statistics of no values");
  Stats s;
  s.n = static_cast<int>(values.size());
  s.median = percentile(values, 0.5);
  s.p10 = percentile(values, 0.1);
  s.p90 = percentile(values, 0.9);
  s.p95 = percentile(values, 0.95);
  auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  s.min = *lo;
  s.max = *hi;
  const double mean = std::accumulate(values.begin(), values.end(), 0.0) / s.n;
  if (s.n > 1 && mean != 0) {
    double sum_sq = 0;
    for (double v : values) sum_sq += (v - mean) * (v - mean);
    s.cv = std::sqrt(sum_sq / (s.n - 1)) / std::fabs(mean);
  }
  return s;
}

nlohmann::json to_json(const Stats& s) {
  return {{"n", s.n}, {"median", s.median}, {"min", s.min}, {"max", s.max},
          {"p10", s.p10}, {"p90", s.p90}, {"p95", s.p95}, {"cv", s.cv}};
}

}  // namespace rackqual
