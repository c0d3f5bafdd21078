#pragma once
// Summary statistics of repeated measurements.
#include <vector>

#include <nlohmann/json.hpp>

namespace rackqual {

struct Stats {
  int n = 0;
  double median = 0, min = 0, max = 0, p10 = 0, p90 = 0;
  double cv = 0;   // sample standard deviation / mean
};

// Percentile by linear interpolation between closest ranks (q in [0, 1]).
double percentile(std::vector<double> values, double q);
Stats summarize(const std::vector<double>& values);
nlohmann::json to_json(const Stats& s);

}  // namespace rackqual
