#pragma once
// How the JUnit XML and Prometheus textfile sinks spell what records say, and how they put
// their files in place: whole or not at all.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rackqual/base/verdict.hpp"
#include "rackqual/records/record.hpp"

namespace rackqual {

// `text` with every byte that is not part of well-formed UTF-8 replaced by U+FFFD.
std::string valid_utf8(std::string_view text);

// Text safe in XML 1.0 content and in a double-quoted attribute: & < > " ' as entities, tab,
// newline and carriage return as character references, other control characters (which XML
// 1.0 cannot carry at all) written out as \xNN, ill-formed UTF-8 as U+FFFD.
std::string xml_escaped(std::string_view text);

// A label value of the Prometheus text exposition format, without its quotes: backslash,
// double quote and newline escaped; other control characters and ill-formed UTF-8 as U+FFFD.
std::string prometheus_label_value(std::string_view text);
// A # HELP line's text: backslash and newline escaped.
std::string prometheus_help(std::string_view text);
// A metric or label name: [a-zA-Z_][a-zA-Z0-9_]*, every other character as '_', runs of '_'
// as one, none at either end.
std::string prometheus_name_part(std::string_view text);

// A record's unit in Prometheus' base units: the name suffix and the factor that converts a
// value (TFLOP/s -> flops_per_second x 1e12, GB/s -> bytes_per_second x 1e9, us -> seconds
// x 1e-6, fraction -> ratio). An unknown unit keeps its value and a sanitized name
// ("widgets/s" -> widgets_per_second); no unit, no suffix.
struct BaseUnit {
  std::string suffix;
  double factor = 1;
  std::vector<std::string> name_tokens;   // how metric names state the unit (tflops, gbps, us)
};
BaseUnit base_unit(const std::string& unit);

// rackqual_<kind>_<metric>_<base unit>: the metric's name without the token that states its
// own unit (busbw_gbps, GB/s -> rackqual_allreduce_busbw_bytes_per_second).
std::string prometheus_metric_name(const std::string& kind, const std::string& metric, const std::string& unit);

// The point of a sweeping kind's record: its swept parameter, named in the singular when the
// parameter is a list (sizes -> size), and the one value of the point (65536).
struct SweepPoint {
  std::string name;
  nlohmann::json value;
  bool bytes = false;   // a size in bytes
};
std::optional<SweepPoint> sweep_point(const Record& r);

// The verdict a set of records gives one GPU, host or group: the worst of them, where a
// record skipped (not measurable, not run) counts only when nothing else was judged.
Verdict overall_verdict(const std::vector<Verdict>& verdicts);

// Seconds since the epoch from a record's ISO 8601 UTC time ("2026-11-21T21:03:00.123Z").
std::optional<double> parse_utc(const std::string& iso);

}  // namespace rackqual
