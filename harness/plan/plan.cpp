#include "rackqual/plan/plan.hpp"

#include <algorithm>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

// The platform's figure for a metric at a point, with its unit checked; none when the kind
// compares the metric with no peak or the platform lacks it.
std::optional<double> peak_for(const Platform& platform, const Kind& kind, const MetricSpec& metric, const Params& point,
                               const std::string& file, int line, const std::string& field) {
  const std::string key = kind.peak_key(metric.name, point);
  if (key.empty()) return std::nullopt;
  auto it = platform.peaks.find(key);
  if (it == platform.peaks.end()) return std::nullopt;
  if (it->second.unit != metric.unit)
    throw InputError(file, line, field,
                     "compares " + metric.name + " (" + metric.unit + ") with platform " + platform.name + "'s '" + key +
                         "', whose unit is " + it->second.unit + " (" + platform.path + ")");
  return it->second.value;
}

PointPlan plan_point(const Suite& suite, const Check& check, const Platform& platform, const Params& point) {
  const Kind& kind = *check.kind;
  PointPlan plan{point, {}, {}};
  const std::string field = "checks[" + check.id + "]";
  for (const auto& metric : kind.metrics()) {
    const auto peak = peak_for(platform, kind, metric, point, suite.path, check.line, field + ".kind");
    if (peak) plan.peaks[metric.name] = *peak;

    // The check's own criterion for the metric at this point; a check that names one for a
    // metric opts out of the platform's default for it, even at points its `at` skips.
    bool named = false;
    for (const auto& c : check.criteria) {
      if (c.metric != metric.name) continue;
      named = true;
      if (c.at && point.list(kind.sweep_param()).front() != *c.at) continue;
      if (c.uses_peak() && !peak)
        throw InputError(suite.path, c.line, field + ".criteria." + c.metric,
                         "relative to peak, but platform " + platform.name + " (" + platform.path + ") gives no figure '" +
                             kind.peak_key(metric.name, point) + "'");
      Bounds b = resolve(c, peak);
      b.peak = peak;
      plan.bounds[metric.name] = b;
    }
    if (named) continue;
    // A default relative to peak holds only where the profile has that peak (a GPU profile
    // gives no fp64 figure, say): elsewhere the metric is recorded without a criterion.
    const Criterion* d = platform.default_for(kind.name(), metric.name);
    if (!d || (d->uses_peak() && !peak)) continue;
    Bounds b = resolve(*d, peak);
    b.peak = peak;
    b.text = d->text + " (platform " + platform.name + " default)";
    plan.bounds[metric.name] = b;
  }
  return plan;
}

}  // namespace

std::vector<CheckPlan> plan_suite(const Suite& suite, const Platform& platform, const std::vector<std::string>& only) {
  for (const auto& id : only)
    if (std::none_of(suite.checks.begin(), suite.checks.end(), [&](const Check& c) { return c.id == id; }))
      throw FieldError("--only", "no check with id '" + id + "' in suite " + suite.name + " (" + suite.path + ")");
  // Every check is planned, so that the whole suite is valid whatever `only` selects.
  std::vector<CheckPlan> out;
  for (const auto& check : suite.checks) {
    CheckPlan plan{&check, {}};
    for (const auto& point : check.kind->points(check.params)) plan.points.push_back(plan_point(suite, check, platform, point));
    if (only.empty() || std::find(only.begin(), only.end(), check.id) != only.end()) out.push_back(std::move(plan));
  }
  return out;
}

}  // namespace rackqual
