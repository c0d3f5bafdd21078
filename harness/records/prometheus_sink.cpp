// The Prometheus textfile: every figure, its acceptance bounds and each check's verdict as
// gauges in the text exposition format, for node_exporter's textfile collector.
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>

#include "rackqual/api/kind.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/records/file_writer.hpp"
#include "rackqual/records/sink.hpp"
#include "rackqual/records/sink_format.hpp"

namespace rackqual {

std::string prometheus_label_value(std::string_view text) {
  std::string out;
  for (char c : valid_utf8(text)) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else if ((c >= 0 && c < 0x20) || c == 0x7F) out += "\xEF\xBF\xBD";
    else out += c;
  }
  return out;
}

std::string prometheus_help(std::string_view text) {
  std::string out;
  for (char c : valid_utf8(text)) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string prometheus_name_part(std::string_view text) {
  std::string out;
  for (char c : text) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (word) out += c;
    else if (!out.empty() && out.back() != '_') out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  if (!out.empty() && out.front() >= '0' && out.front() <= '9') out.insert(0, "_");
  return out;
}

BaseUnit base_unit(const std::string& unit) {
  // SI decimal throughout (GB/s = 1e9 B/s). A figure per watt is per joule of energy:
  // (FLOP/s) / W = FLOP / J.
  static const std::map<std::string, BaseUnit> known = {
      {"TFLOP/s", {"flops_per_second", 1e12, {"tflops"}}},
      {"GFLOP/s", {"flops_per_second", 1e9, {"gflops"}}},
      {"TFLOP/s/W", {"flops_per_joule", 1e12, {"tflops_per_watt"}}},
      {"GB/s", {"bytes_per_second", 1e9, {"gbps"}}},
      {"MB/s", {"bytes_per_second", 1e6, {"mbps"}}},
      {"GB/s/W", {"bytes_per_joule", 1e9, {"gbps_per_watt"}}},
      {"s", {"seconds", 1, {"s", "seconds"}}},
      {"ms", {"seconds", 1e-3, {"ms"}}},
      {"us", {"seconds", 1e-6, {"us"}}},
      {"ns", {"seconds", 1e-9, {"ns"}}},
      {"fraction", {"ratio", 1, {"fraction", "ratio"}}},
      {"ratio", {"ratio", 1, {"ratio"}}},
      {"%", {"ratio", 0.01, {"percent", "pct"}}},
      {"B", {"bytes", 1, {"bytes"}}},
      {"W", {"watts", 1, {"w", "watts"}}},
      {"C", {"celsius", 1, {"c", "celsius"}}},
      {"tokens/s", {"tokens_per_second", 1, {"tokens_per_s"}}},
  };
  if (const auto it = known.find(unit); it != known.end()) return it->second;
  // Unknown: the unit's own name, "/" read as "per", "/s" as "per second".
  std::string name;
  std::string_view rest = unit;
  for (bool first = true; !rest.empty() || first; first = false) {
    const auto slash = rest.find('/');
    std::string part = std::string(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    if (part == "s") part = "second";
    if (part == "%") part = "percent";
    for (char& c : part) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    part = prometheus_name_part(part);
    if (part.empty()) continue;
    name += (name.empty() ? "" : "_per_") + part;
  }
  return {name, 1, {name}};
}

std::string prometheus_metric_name(const std::string& kind, const std::string& metric, const std::string& unit) {
  const BaseUnit base = base_unit(unit);
  std::string stem = prometheus_name_part(metric);
  for (const auto& token : base.name_tokens) {
    if (stem == token) {
      stem.clear();
      break;
    }
    if (stem.size() > token.size() && stem.compare(stem.size() - token.size() - 1, std::string::npos, "_" + token) == 0) {
      stem.resize(stem.size() - token.size() - 1);
      break;
    }
  }
  std::string name = "rackqual_" + prometheus_name_part(kind);
  if (!stem.empty()) name += "_" + stem;
  if (!base.suffix.empty()) name += "_" + base.suffix;
  return name;
}

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// One metric family: its help and its samples, each series once (labels as written -> value).
struct Family {
  std::string help;
  std::map<std::string, double> samples;
};

std::string label_text(const Labels& labels) {
  std::string out;
  for (const auto& [name, value] : labels) {
    out += out.empty() ? "{" : ",";
    out += name;
    out += "=\"";
    out += prometheus_label_value(value);
    out += '"';
  }
  return out.empty() ? out : out + "}";
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return std::string(buf, end);
}

// The families of a textfile, by name.
using Families = std::map<std::string, Family>;

// One sample of a family; the family's help is the first one given.
void add(Families& families, const std::string& name, const std::string& help, const Labels& labels, double value) {
  Family& f = families[name];
  if (f.help.empty()) f.help = help;
  f.samples[label_text(labels)] = value;
}

// A state set: one series per verdict, 1 for the one each check, group, host and GPU has.
void add_verdicts(Families& families, const std::map<Labels, std::vector<Verdict>>& verdicts) {
  for (const auto& [labels, all] : verdicts) {
    const Verdict v = overall_verdict(all);
    for (Verdict state : {Verdict::pass, Verdict::warn, Verdict::fail, Verdict::error, Verdict::skip}) {
      Labels with_state = labels;
      with_state.emplace_back("verdict", std::string(to_string(state)));
      add(families, "rackqual_check_verdict",
          "Verdict of a check per group, host and GPU: 1 for the verdict it has, 0 for the others "
          "(the worst of its records; skip only when none was judged)",
          with_state, v == state ? 1 : 0);
    }
  }
}

// The text exposition format: each family's help and type, then its samples.
std::string exposition(const Families& families) {
  std::string out;
  for (const auto& [name, family] : families) {
    out += "# HELP " + name + " " + prometheus_help(family.help) + "\n";
    out += "# TYPE " + name + " gauge\n";
    for (const auto& [labels, value] : family.samples) {
      out += name;
      out += labels;
      out += ' ';
      out += number(value);
      out += '\n';
    }
  }
  return out;
}

class PrometheusTextfile : public RecordSink {
 public:
  PrometheusTextfile(std::string path, std::vector<CheckPlan> plans)
      : path_(std::move(path)), plans_(std::move(plans)), start_(std::chrono::system_clock::now()) {}
  ~PrometheusTextfile() override {
    // A run that ends by an exception leaves what it measured, as a run error.
    if (written_) return;
    try {
      end_run("aborted", exit_run_error);
    } catch (...) {
    }
  }
  void write(const Record& record) override { records_.push_back(record); }
  void end_run(const std::string&, int exit_code) override {
    written_ = true;
    write_file_whole(path_, render(exit_code));
  }

 private:
  // Who a record speaks for: suite, check, group, host, rack, GPU (empty for group figures).
  static Labels where(const Record& r) {
    const bool gpu = r.scope == Scope::gpu && r.device;
    return {{"suite", r.suite},
            {"check", r.check},
            {"group", r.group},
            {"host", r.host},
            {"rack", r.rack},
            {"gpu", gpu ? std::to_string(r.device->index) : ""},
            {"serial", gpu ? r.device->serial : ""}};
  }

  // The bounds a figure was judged by, from the plan of its check and point.
  const Bounds* bounds_of(const Record& r) const {
    for (const CheckPlan& plan : plans_) {
      if (plan.check->id != r.check) continue;
      for (const PointPlan& point : plan.points) {
        if (point.params.to_json() != r.params) continue;
        const auto b = point.bounds.find(r.metric);
        return b == point.bounds.end() ? nullptr : &b->second;
      }
    }
    return nullptr;
  }

  std::string render(int exit_code) {
    Families families;
    std::map<Labels, std::vector<Verdict>> verdicts;
    for (const Record& r : records_) {
      verdicts[where(r)].push_back(r.verdict);
      add_figure(families, r);
    }
    add_verdicts(families, verdicts);
    const auto now = std::chrono::system_clock::now();
    const Labels run = {{"suite", records_.empty() ? "" : records_.front().suite}};
    add(families, "rackqual_run_timestamp_seconds", "When the run ended, seconds since the epoch", run,
        std::chrono::duration<double>(now.time_since_epoch()).count());
    add(families, "rackqual_run_duration_seconds", "How long the run took, seconds", run,
        std::chrono::duration<double>(now - start_).count());
    add(families, "rackqual_run_exit_code", "Exit code of the run: 0 pass, 1 fail, 2 bad input, 3 run error", run, exit_code);
    return exposition(families);
  }

  // A record's figure, in the base unit, and the bounds it was judged by. Only figures of the
  // measurement itself; an isolation's probes measure sub-groups, and their findings show in
  // the verdicts and records.
  void add_figure(Families& families, const Record& r) const {
    if (r.metric.empty() || !r.isolation.is_null()) return;
    const Kind* kind = KindRegistry::instance().find(r.kind);
    const auto spec = kind ? kind->metric(r.metric) : std::nullopt;
    const BaseUnit unit = base_unit(r.unit);
    const std::string name = prometheus_metric_name(r.kind, r.metric, r.unit);
    Labels labels = where(r);
    if (const auto point = sweep_point(r))   // size="65536": bytes, the base unit
      labels.emplace_back(prometheus_name_part(point->name),
                          point->value.is_string() ? point->value.get<std::string>() : point->value.dump());
    const std::string said = r.metric + (r.unit.empty() ? "" : ", " + r.unit) +
                             (unit.factor != 1 ? ", in " + unit.suffix : "");
    if (r.value)
      add(families, name, (spec ? spec->help : r.metric) + " (" + said + ")", labels, *r.value * unit.factor);
    const Bounds* b = bounds_of(r);
    if (!b) return;
    const std::string help = "Acceptance bound of " + name + " (" + said +
                             "): min/max fail a figure beyond them, warn_below/warn_above warn";
    for (const auto& [bound, value] : {std::pair{"min", b->min}, {"max", b->max}, {"warn_below", b->warn_below},
                                       {"warn_above", b->warn_above}}) {
      if (!value) continue;
      Labels with_bound = labels;
      with_bound.emplace_back("bound", bound);
      add(families, name + "_threshold", help, with_bound, *value * unit.factor);
    }
  }

  std::string path_;
  std::vector<CheckPlan> plans_;
  std::chrono::system_clock::time_point start_;
  std::vector<Record> records_;
  bool written_ = false;
};

}  // namespace

std::unique_ptr<RecordSink> prometheus_sink(const std::string& path, std::vector<CheckPlan> plans) {
  return std::make_unique<PrometheusTextfile>(path, std::move(plans));
}

}  // namespace rackqual
