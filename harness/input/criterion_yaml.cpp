#include "criterion_yaml.hpp"

#include <algorithm>

#include "rackqual/base/text.hpp"
#include "rackqual/base/units.hpp"

namespace rackqual {

Criterion read_criterion(const YamlFile& f, const YAML::Node& key, const std::string& metric, const YAML::Node& body,
                         const std::string& field, const Kind& kind, const Params* params) {
  Criterion c;
  c.metric = metric;
  c.line = YamlFile::line(key);
  if (!kind.metric(c.metric)) {
    const std::string known = join(kind.metrics(), [](const MetricSpec& m) { return m.name; });
    f.fail(key, field, "unknown metric '" + c.metric + "' for kind " + kind.name() + " (metrics: " + known + ")");
  }
  // An empty value sits where the next token starts: name the metric's own line instead.
  if (!body.IsMap() || body.size() == 0) f.fail(body.IsNull() ? key : body, field, "expected a mapping such as {min: 100}");
  c.text = c.metric + ": {";
  for (const auto& item : body) {
    const std::string k = item.first.Scalar();
    const std::string name = field + "." + k;
    if (!is_criterion_key(k))
      f.fail(item.first, YamlFile::plain(k) ? name : field,
             "unknown criterion" + (YamlFile::plain(k) ? std::string() : " '" + k + "'") + " (known: min, max, min_fraction_of_peak, max_fraction_of_peak, "
                               "warn_below, warn_above, warn_below_fraction_of_peak, warn_above_fraction_of_peak, "
                               "min_fraction_of_group_median, max_robust_z, at)");
    c.text += (c.text.back() == '{' ? "" : ", ") + k + ": " + f.scalar(item.second, name);
    if (k == "at") {
      if (!params) f.fail(item.first, name, "a default applies to every point; `at` belongs in a suite's check");
      const std::string sweep = kind.sweep_param();
      if (sweep.empty()) f.fail(item.second, name, "kind " + kind.name() + " sweeps no parameter");
      auto bytes = parse_bytes(item.second.Scalar());
      if (!bytes) f.fail(item.second, name, "expected a size, got '" + item.second.Scalar() + "'");
      const auto& swept = params->list(sweep);
      if (std::find(swept.begin(), swept.end(), *bytes) == swept.end())
        f.fail(item.second, name, item.second.Scalar() + " is not one of the check's " + sweep);
      c.at = *bytes;
      continue;
    }
    const double v = f.number(item.second, name);
    if (k.find("fraction_of_peak") != std::string::npos && (v <= 0 || v > 10))
      f.fail(item.second, name, "a fraction of peak lies in (0, 10], got " + item.second.Scalar());
    if (k == "min_fraction_of_group_median" && (v <= 0 || v > 1))
      f.fail(item.second, name, "a fraction of the peers' median lies in (0, 1], got " + item.second.Scalar());
    if (k == "max_robust_z" && !(v > 0))
      f.fail(item.second, name, "a robust z-score bound is positive, got " + item.second.Scalar());
    if (k == "min") c.min = v;
    else if (k == "max") c.max = v;
    else if (k == "min_fraction_of_peak") c.min_fraction_of_peak = v;
    else if (k == "max_fraction_of_peak") c.max_fraction_of_peak = v;
    else if (k == "warn_below") c.warn_below = v;
    else if (k == "warn_above") c.warn_above = v;
    else if (k == "warn_below_fraction_of_peak") c.warn_below_fraction_of_peak = v;
    else if (k == "warn_above_fraction_of_peak") c.warn_above_fraction_of_peak = v;
    else if (k == "min_fraction_of_group_median") c.min_fraction_of_group_median = v;
    else if (k == "max_robust_z") c.max_robust_z = v;
  }
  c.text += "}";
  if (!c.min && !c.max && !c.min_fraction_of_peak && !c.max_fraction_of_peak && !c.warn_below && !c.warn_above &&
      !c.warn_below_fraction_of_peak && !c.warn_above_fraction_of_peak && !c.min_fraction_of_group_median &&
      !c.max_robust_z)
    f.fail(body, field, "a criterion needs at least one bound");
  return c;
}

}  // namespace rackqual
