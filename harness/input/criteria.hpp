#pragma once
// Acceptance criteria as data: a metric, bounds, and where the bounds come from.
// Evaluated by comparison, never by eval.
#include <cstdint>
#include <optional>
#include <string>

#include "rackqual/api/kind.hpp"
#include "rackqual/base/verdict.hpp"

namespace rackqual {

struct Criterion {
  std::string metric;
  std::optional<double> min, max;                                   // absolute bounds: fail
  std::optional<double> min_fraction_of_peak, max_fraction_of_peak; // relative bounds: fail
  std::optional<double> warn_below, warn_above;                     // absolute warn band
  std::optional<double> warn_below_fraction_of_peak, warn_above_fraction_of_peak;
  // Relative to the same figure of the check's other records (its peers, e.g. every GPU of the
  // run): a fraction of their median that a figure must reach (higher is better) or stay under
  // the median divided by (lower is better), and a robust z-score, |x - median| / (1.4826 MAD),
  // a figure may reach in its worse direction.
  std::optional<double> min_fraction_of_group_median, max_robust_z;
  std::optional<std::int64_t> at;   // the sweep point it applies to; none: every point
  std::string text;                 // as written in the suite, for records
  int line = 0;                     // where it stands in the suite file

  bool uses_peak() const;
};

struct Judgement {
  Verdict verdict;
  std::string reason;
};

// A criterion resolved for one metric at one measurement point, when the suite loads: absolute
// bounds, so that judging is a comparison.
struct Bounds {
  std::optional<double> min, max, warn_below, warn_above;
  std::optional<double> min_fraction_of_group_median, max_robust_z;   // judged against peers (judge_peers)
  std::optional<double> peak;   // the platform figure the bounds were taken from, for reasons
  std::string text;             // the criterion as written, and where it came from
};

// Bounds of a criterion against a platform peak; throws std::logic_error when it is relative
// to a peak and none is given.
Bounds resolve(const Criterion& c, std::optional<double> peak);
// Judges one value against resolved bounds.
Judgement judge(const Bounds& b, double value);
// Judges one value; `peak` must be given when the criterion uses it.
Judgement judge(const Criterion& c, double value, std::optional<double> peak, Better better);

// Keys a criterion accepts, for validation messages.
bool is_criterion_key(const std::string& key);

}  // namespace rackqual
