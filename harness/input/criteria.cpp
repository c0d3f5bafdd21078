#include "rackqual/input/criteria.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "rackqual/base/text.hpp"

namespace rackqual {
namespace {

// A bound written either absolutely or as a fraction of the platform peak.
std::optional<double> bound(std::optional<double> absolute, std::optional<double> fraction, std::optional<double> peak) {
  if (absolute) return absolute;
  if (fraction) {
    if (!peak) throw std::logic_error("criterion needs a platform peak");
    return *fraction * *peak;
  }
  return std::nullopt;
}

}  // namespace

bool Criterion::uses_peak() const {
  return min_fraction_of_peak || max_fraction_of_peak || warn_below_fraction_of_peak || warn_above_fraction_of_peak;
}

bool is_criterion_key(const std::string& key) {
  static const std::array<const char*, 11> keys = {
      "min", "max", "min_fraction_of_peak", "max_fraction_of_peak", "warn_below", "warn_above",
      "warn_below_fraction_of_peak", "warn_above_fraction_of_peak", "min_fraction_of_group_median", "max_robust_z", "at"};
  for (const char* k : keys)
    if (key == k) return true;
  return false;
}

Bounds resolve(const Criterion& c, std::optional<double> peak) {
  Bounds b;
  b.min = bound(c.min, c.min_fraction_of_peak, peak);
  b.max = bound(c.max, c.max_fraction_of_peak, peak);
  b.warn_below = bound(c.warn_below, c.warn_below_fraction_of_peak, peak);
  b.warn_above = bound(c.warn_above, c.warn_above_fraction_of_peak, peak);
  if (c.uses_peak()) b.peak = peak;
  b.min_fraction_of_group_median = c.min_fraction_of_group_median;
  b.max_robust_z = c.max_robust_z;
  b.text = c.text;
  return b;
}

Judgement judge(const Bounds& b, double value) {
  const std::string v = format_number(value);
  const std::string of_peak =
      b.peak ? " (" + format_number(100.0 * value / *b.peak) + "% of peak " + format_number(*b.peak) + ")" : "";

  if (!std::isfinite(value)) return {Verdict::error, "value is not finite: " + v};
  if (b.min && value < *b.min) return {Verdict::fail, v + " < min " + format_number(*b.min) + of_peak};
  if (b.max && value > *b.max) return {Verdict::fail, v + " > max " + format_number(*b.max) + of_peak};
  if (b.warn_below && value < *b.warn_below) return {Verdict::warn, v + " < warn_below " + format_number(*b.warn_below) + of_peak};
  if (b.warn_above && value > *b.warn_above) return {Verdict::warn, v + " > warn_above " + format_number(*b.warn_above) + of_peak};

  std::string reason = v;
  if (b.min) reason += " >= min " + format_number(*b.min);
  if (b.max) reason += std::string(b.min ? "," : "") + " <= max " + format_number(*b.max);
  return {Verdict::pass, reason + of_peak};
}

Judgement judge(const Criterion& c, double value, std::optional<double> peak, Better) {
  Bounds b = resolve(c, peak);
  b.peak = peak;   // a given peak is always quoted, as a reader compares with it
  return judge(b, value);
}

}  // namespace rackqual
