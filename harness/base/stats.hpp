#pragma once
// Summary statistics of repeated measurements.
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace rackqual {

struct Stats {
  int n = 0;
  double median = 0, min = 0, max = 0, p10 = 0, p90 = 0, p95 = 0;
  double cv = 0;   // sample standard deviation / mean
};

// The median absolute deviation times this estimates the standard deviation of normal data: the
// robust z-score is |x - median| / (mad_to_standard_deviation * MAD).
inline constexpr double mad_to_standard_deviation = 1.4826;

// Percentile by linear interpolation between closest ranks (q in [0, 1]).
double percentile(std::vector<double> values, double q);
// The fewest samples that put, on average, one of them above their q-th percentile (20 for the
// 95th): with fewer, a percentile that high is only the maximum or a step towards it.
int samples_for_percentile(double q);
Stats summarize(const std::vector<double>& values);
nlohmann::json to_json(const Stats& s);

}  // namespace rackqual
