#include "rackqual/criteria.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "rackqual/text.hpp"

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
  static const std::array<const char*, 9> keys = {
      "min", "max", "min_fraction_of_peak", "max_fraction_of_peak", "warn_below", "warn_above",
      "warn_below_fraction_of_peak", "warn_above_fraction_of_peak", "at"};
  for (const char* k : keys)
    if (key == k) return true;
  return false;
}

Judgement judge(const Criterion& c, double value, std::optional<double> peak, Better) {
  const auto lo = bound(c.min, c.min_fraction_of_peak, peak);
  const auto hi = bound(c.max, c.max_fraction_of_peak, peak);
  const auto warn_lo = bound(c.warn_below, c.warn_below_fraction_of_peak, peak);
  const auto warn_hi = bound(c.warn_above, c.warn_above_fraction_of_peak, peak);
  const std::string v = format_number(value);
  const std::string of_peak = peak ? " (" + format_number(100.0 * value / *peak) + "% of peak " + format_number(*peak) + ")" : "";

  if (!std::isfinite(value)) return {Verdict::error, "value is not finite: " + v};
  if (lo && value < *lo) return {Verdict::fail, v + " < min " + format_number(*lo) + of_peak};
  if (hi && value > *hi) return {Verdict::fail, v + " > max " + format_number(*hi) + of_peak};
  if (warn_lo && value < *warn_lo) return {Verdict::warn, v + " < warn_below " + format_number(*warn_lo) + of_peak};
  if (warn_hi && value > *warn_hi) return {Verdict::warn, v + " > warn_above " + format_number(*warn_hi) + of_peak};

  std::string reason = v;
  if (lo) reason += " >= min " + format_number(*lo);
  if (hi) reason += std::string(lo ? "," : "") + " <= max " + format_number(*hi);
  return {Verdict::pass, reason + of_peak};
}

}  // namespace rackqual
