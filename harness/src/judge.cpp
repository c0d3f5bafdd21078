#include "rackqual/judge.hpp"

#include "rackqual/stats.hpp"

namespace rackqual {
namespace {

std::optional<double> average_power(const nlohmann::json& telemetry) {
  if (!telemetry.is_object()) return std::nullopt;
  const auto power = telemetry.find("avg_power_w");
  if (power == telemetry.end() || !power->is_number() || !(power->get<double>() > 0)) return std::nullopt;
  return power->get<double>();
}

}  // namespace

std::vector<Record> judge_point(const Record& base_in, const Kind& kind, const PointPlan& point, const Measurement& m,
                                int ranks) {
  Record base = base_in;
  if (!m.measured) {
    base.verdict = Verdict::error;
    base.reason = m.complaints.empty() ? "measurement failed" : m.complaints;
    return {base};
  }
  const bool all_correct = m.complaints.empty();
  const auto power = average_power(m.telemetry);

  // Every metric of every repetition: the kind's arithmetic, then fractions of a peak and
  // figures per watt, which the harness derives for every kind alike.
  std::map<std::string, std::vector<double>> values;
  for (const Sample& s : m.samples) {
    auto derived = kind.derive(point.params, s, ranks);
    for (const auto& spec : kind.metrics()) {
      if (!spec.fraction_of_peak_of.empty()) {
        auto peak = point.peaks.find(spec.fraction_of_peak_of);
        if (peak != point.peaks.end() && derived.count(spec.fraction_of_peak_of))
          derived[spec.name] = derived.at(spec.fraction_of_peak_of) / peak->second;
      }
      if (!spec.per_watt_of.empty() && power && derived.count(spec.per_watt_of))
        derived[spec.name] = derived.at(spec.per_watt_of) / *power;
    }
    for (const auto& [metric, v] : derived) values[metric].push_back(v);
  }

  std::vector<Record> out;
  for (const auto& spec : kind.metrics()) {
    const auto bounds = point.bounds.find(spec.name);
    if (!values.count(spec.name)) {
      // Not measurable here (no peak for a fraction, no power reading): said only where a
      // criterion asked for it, so that a gate that cannot be judged is never silently passed.
      if (bounds == point.bounds.end()) continue;
      Record r = base;
      r.metric = spec.name;
      r.unit = spec.unit;
      r.better = std::string(to_string(spec.better));
      r.criterion = bounds->second.text;
      r.verdict = Verdict::skip;
      r.reason = spec.per_watt_of.empty() ? "not measurable: the platform gives no peak for it"
                                          : "not measurable: the backend reads no device power";
      out.push_back(std::move(r));
      continue;
    }
    Record r = base;
    r.metric = spec.name;
    r.unit = spec.unit;
    r.better = std::string(to_string(spec.better));
    r.stats = summarize(values.at(spec.name));
    r.value = r.stats->median;
    r.correct = all_correct;
    r.correct_detail = all_correct ? m.correct_detail : m.complaints;
    r.verdict = Verdict::pass;
    r.reason = "measured; no criterion";
    r.telemetry = m.telemetry;
    if (r.telemetry.is_object() && spec.better == Better::higher && power) r.telemetry["per_watt"] = *r.value / *power;
    r.timing = m.timing;
    r.arrival = m.arrival;
    if (bounds != point.bounds.end()) {
      r.criterion = bounds->second.text;
      const auto judgement = judge(bounds->second, *r.value);
      r.verdict = judgement.verdict;
      r.reason = judgement.reason;
    }
    if (!all_correct) {
      r.verdict = Verdict::fail;
      r.reason = "incorrect result: " + m.complaints;
    }
    if (m.telemetry.is_object() && m.telemetry.value("throttled", false))
      r.reason += " [throttled: " + m.telemetry.value("throttle_reasons", std::string("clocks reduced")) + "]";
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace rackqual
