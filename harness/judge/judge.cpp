#include "rackqual/judge/judge.hpp"

#include <cmath>

#include "rackqual/base/stats.hpp"
#include "rackqual/base/text.hpp"
#include "rackqual/judge/vote.hpp"

namespace rackqual {
namespace {

std::optional<double> average_power(const nlohmann::json& telemetry) {
  if (!telemetry.is_object()) return std::nullopt;
  const auto power = telemetry.find("avg_power_w");
  if (power == telemetry.end() || !power->is_number() || !(power->get<double>() > 0)) return std::nullopt;
  return power->get<double>();
}

// Every metric of every repetition: the kind's arithmetic, then fractions of a peak and
// figures per watt, which the harness derives for every kind alike.
std::map<std::string, std::vector<double>> metric_values(const Kind& kind, const PointPlan& point, const Measurement& m,
                                                         int ranks, const std::optional<double>& power) {
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
  return values;
}

// A metric's record, before its figure: the point's base record with the metric named.
Record metric_record(const Record& base, const MetricSpec& spec) {
  Record r = base;
  r.metric = spec.name;
  r.unit = spec.unit;
  r.better = spec.better;
  return r;
}

}  // namespace

void judge_figure(Record& r, const Bounds* bounds) {
  r.verdict = Verdict::pass;
  r.reason = "measured; no criterion";
  r.criterion.clear();
  if (bounds) {
    r.criterion = bounds->text;
    const auto judgement = judge(*bounds, *r.value);
    r.verdict = judgement.verdict;
    r.reason = judgement.reason;
  }
  if (!r.correct) {
    r.verdict = Verdict::fail;
    r.reason = "incorrect result: " + r.correct_detail;
  }
  if (r.telemetry.is_object() && r.telemetry.value("throttled", false))
    r.reason += " [throttled: " + r.telemetry.value("throttle_reasons", std::string("clocks reduced")) + "]";
  // Stragglers: ranks that reached the samples' common start later than the margin (median
  // over the samples), named where a crew reads first. Their lateness is not in the figure.
  if (r.arrival.is_object() && !r.arrival.value("late_ranks", nlohmann::json::array()).empty()) {
    std::string who;
    for (const auto& rank : r.arrival.at("late_ranks")) {
      const double late = r.arrival.at("late_s").at(std::to_string(rank.get<int>())).get<double>();
      who += (who.empty() ? "" : ", ") + std::string("rank ") + std::to_string(rank.get<int>()) + " " + format_number(late * 1e3) + " ms";
    }
    r.reason += " [stragglers, late at the common start: " + who + "]";
  }
}

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
  const auto values = metric_values(kind, point, m, ranks, power);

  std::vector<Record> out;
  for (const auto& spec : kind.metrics()) {
    const auto bounds = point.bounds.find(spec.name);
    // A tail figure (time_p95_us) is a percentile of another metric's repetitions.
    const std::string& from = spec.percentile_of.empty() ? spec.name : spec.percentile_of;
    if (!values.count(from)) {
      // Not measurable here (no peak for a fraction, no power reading): said only where a
      // criterion asked for it, so that a gate that cannot be judged is never silently passed.
      if (bounds == point.bounds.end()) continue;
      Record r = metric_record(base, spec);
      r.criterion = bounds->second.text;
      r.verdict = Verdict::skip;
      r.reason = spec.per_watt_of.empty() ? "not measurable: the platform gives no peak for it"
                                          : "not measurable: the backend reads no device power";
      out.push_back(std::move(r));
      continue;
    }
    Record r = metric_record(base, spec);
    r.stats = summarize(values.at(from));
    r.value = spec.percentile_of.empty() ? r.stats->median : percentile(values.at(from), spec.percentile);
    r.correct = all_correct;
    r.correct_detail = all_correct ? m.correct_detail : m.complaints;
    r.telemetry = m.telemetry;
    if (r.telemetry.is_object() && spec.better == Better::higher && power) r.telemetry["per_watt"] = *r.value / *power;
    r.timing = m.timing;
    r.arrival = m.arrival;
    r.digests = m.digests;
    judge_figure(r, bounds == point.bounds.end() ? nullptr : &bounds->second);
    out.push_back(std::move(r));
  }
  return out;
}

void judge_peers(std::vector<Record>& records, const CheckPlan& plan) {
  for (const PointPlan& point : plan.points) {
    const nlohmann::json params = point.params.to_json();
    for (const auto& [metric, bounds] : point.bounds) {
      if (!bounds.min_fraction_of_group_median && !bounds.max_robust_z) continue;
      std::vector<Record*> peers;
      for (auto& r : records)
        if (r.metric == metric && r.value && r.params == params && r.verdict != Verdict::error && r.verdict != Verdict::skip)
          peers.push_back(&r);
      if (peers.size() < 2) continue;   // no one to compare with
      std::vector<double> values, deviations;
      for (const Record* r : peers) values.push_back(*r->value);
      const double median = percentile(values, 0.5);
      for (double v : values) deviations.push_back(std::fabs(v - median));
      const double scale = mad_to_standard_deviation * percentile(deviations, 0.5);
      const std::string n = std::to_string(peers.size());
      for (Record* r : peers) {
        const bool higher = r->better != Better::lower;
        const double v = *r->value;
        std::string why;
        if (const auto f = bounds.min_fraction_of_group_median) {
          if (higher ? v < *f * median : v > median / *f)
            why = format_number(v) + (higher ? " < " : " > ") + format_number(*f) + (higher ? " x " : " / ") +
                  "the median " + format_number(median) + " of " + n + " peers";
        }
        if (const auto z = bounds.max_robust_z; why.empty() && z && scale > 0) {
          const double score = (higher ? median - v : v - median) / scale;
          if (score > *z)
            why = format_number(v) + ": robust z-score " + format_number(score) + " > " + format_number(*z) +
                  " against " + n + " peers (median " + format_number(median) + ")";
        }
        if (why.empty()) continue;
        const bool was_failing = r->verdict == Verdict::fail;
        r->verdict = worst(r->verdict, Verdict::fail);
        r->reason = was_failing ? r->reason + "; " + why : why + " (" + r->reason + ")";
      }
    }
  }
  vote_outputs(records);
}

}  // namespace rackqual
