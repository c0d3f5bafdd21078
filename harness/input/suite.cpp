#include "rackqual/input/suite.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "rackqual/api/backend.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/base/name.hpp"
#include "rackqual/base/stats.hpp"
#include "rackqual/base/units.hpp"
#include "criterion_yaml.hpp"
#include "yaml_file.hpp"
#include "rackqual/base/text.hpp"

namespace rackqual {
namespace {

std::string fnv1a64(const std::string& bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return hex;
}

struct Timing {
  int repetitions = defaults::repetitions;
  double min_time = defaults::min_time_s;
  double deadline = defaults::deadline_s;
};

// No repetition or check lasts longer than a week (604800 s).
constexpr double max_seconds = 7 * 24 * 3600.0;

// repetitions, min_time and deadline, from suite defaults or a check.
void read_timing(const YamlFile& f, const YAML::Node& node, const std::string& field, Timing& t) {
  if (auto n = node["repetitions"]) {
    const double r = f.number(n, field + "repetitions");
    if (r < 1 || r > 1e6 || r != std::floor(r)) f.fail(n, field + "repetitions", "must be a whole number from 1 to 1000000");
    t.repetitions = static_cast<int>(r);
  }
  for (auto [key, target] : {std::pair{"min_time", &t.min_time}, std::pair{"deadline", &t.deadline}}) {
    if (auto n = node[key]) {
      auto seconds = parse_seconds(f.scalar(n, field + key));
      if (!seconds || !(*seconds > 0))
        f.fail(n, field + key, "expected a positive duration such as 0.5s or 300s, got '" + n.Scalar() + "'");
      if (!(*seconds <= max_seconds)) f.fail(n, field + key, "at most a week (604800s), got '" + n.Scalar() + "'");
      *target = *seconds;
    }
  }
}

// A duration as a reader takes it in: seconds up to two minutes, then minutes, then hours.
std::string format_duration(double seconds) {
  if (seconds < 120) return format_number(seconds) + " s";
  if (seconds < 7200) return format_number(std::round(seconds / 6) / 10) + " min";
  return format_number(std::round(seconds / 360) / 10) + " h";
}

// Every repetition of every point lasts at least min_time: a check whose points cannot finish
// within its deadline is refused here, not left for the watchdog. Named at the first of
// repetitions, min_time and deadline the check writes itself (else at the check).
void check_fits_deadline(const YamlFile& f, const YAML::Node& node, const std::string& field, const Check& check) {
  const std::size_t points = check.kind->points(check.params).size();
  const double needed = static_cast<double>(points) * check.repetitions * check.min_time;
  if (needed <= check.deadline) return;
  const std::string product = (points > 1 ? std::to_string(points) + " points × " : std::string()) +
                              "repetitions: " + std::to_string(check.repetitions) + " × min_time: " +
                              format_number(check.min_time) + "s";
  const std::string message = product + " is " + format_duration(needed) + ", past deadline: " +
                              format_number(check.deadline) + "s";
  for (const char* key : {"repetitions", "min_time", "deadline"})
    if (node[key]) f.fail(node[key], field + "." + key, message);
  f.fail(node, field, message);
}

// `owner` is the check, named in messages when `node` (its params) is absent.
Params read_params(const YamlFile& f, const YAML::Node& node, const YAML::Node& owner, const std::string& field,
                   const Kind& kind, std::map<std::string, int>& lines) {
  const YAML::Node& here = node ? node : owner;
  std::set<std::string> known;
  for (const auto& spec : kind.params()) known.insert(spec.name);
  if (node) f.expect_map(node, field, known);
  Params params;
  for (const auto& spec : kind.params()) {
    const std::string name = field + "." + spec.name;
    const YAML::Node value = node ? node[spec.name] : YAML::Node(YAML::NodeType::Undefined);
    lines[spec.name] = YamlFile::line(value.IsDefined() ? value : here);
    try {
      if (!value.IsDefined()) {
        if (spec.default_value.empty()) f.fail(here, name, "required parameter is missing");
        params.set(spec.name, parse_param(spec, spec.default_value));
      } else if (value.IsSequence()) {
        std::vector<std::string> items;
        for (const auto& item : value) items.push_back(f.scalar(item, name));
        params.set(spec.name, parse_param_list(spec, items));
      } else {
        params.set(spec.name, parse_param(spec, f.scalar(value, name)));
      }
    } catch (const FieldError& e) {
      f.fail(value ? value : here, name, e.message());
    }
  }
  try {
    kind.validate(params);
  } catch (const FieldError& e) {
    f.fail(node && node[e.field()] ? node[e.field()] : here, field + "." + e.field(), e.message());
  }
  return params;
}

// A check's `kind:`, one the registry knows.
const Kind* read_kind(const YamlFile& f, const YAML::Node& node, const std::string& field) {
  const YAML::Node kind_node = f.required(node, "kind", field);
  const std::string kind_name = f.scalar(kind_node, field + ".kind");
  const Kind* kind = KindRegistry::instance().find(kind_name);
  if (!kind) {
    const std::string known = join(KindRegistry::instance().all(), [](const Kind* k) { return k->name(); });
    f.fail(kind_node, field + ".kind", "unknown kind '" + kind_name + "' (kinds: " + known + ")");
  }
  return kind;
}

// A check's `scope:`, one its kind runs at; the kind's first when absent.
Scope read_scope(const YamlFile& f, const YAML::Node& node, const std::string& field, const Kind& kind) {
  const std::vector<Scope> allowed = kind.scopes();
  auto scope_node = node["scope"];
  if (!scope_node) return allowed.front();
  auto scope = parse_scope(f.scalar(scope_node, field + ".scope"));
  if (!scope) f.fail(scope_node, field + ".scope", "unknown scope '" + scope_node.Scalar() + "' (gpu, node, nvlink_domain, rack, cluster)");
  if (std::find(allowed.begin(), allowed.end(), *scope) == allowed.end()) {
    f.fail(scope_node, field + ".scope", "kind " + kind.name() + " runs at scope " + join(allowed, [](Scope s) { return to_string(s); }));
  }
  return *scope;
}

// A check's `criteria:`, metric to bounds, read against its kind and parameters.
void read_criteria(const YamlFile& f, const YAML::Node& node, const std::string& field, Check& check) {
  const Kind& kind = *check.kind;
  auto criteria = node["criteria"];
  if (!criteria || criteria.IsNull()) return;
  if (!criteria.IsMap()) f.fail(criteria, field + ".criteria", "expected a mapping of metric to bounds");
  for (const auto& item : criteria) {
    if (!YamlFile::plain(item.first.Scalar()))
      f.fail(item.first, field + ".criteria", "unknown metric '" + item.first.Scalar() + "' for kind " + kind.name());
    check.criteria.push_back(read_criterion(f, item.first, item.first.Scalar(), item.second,
                                            field + ".criteria." + item.first.Scalar(), kind, &check.params));
  }
}

// A tail figure gated on too few repetitions would be their maximum or a step towards it.
void check_tail_repetitions(const YamlFile& f, const std::string& field, const Check& check) {
  for (const auto& c : check.criteria) {
    const double q = check.kind->metric(c.metric)->percentile;
    if (q > 0 && check.repetitions < samples_for_percentile(q))
      throw InputError(f.path(), c.line, field + ".criteria." + c.metric,
                       c.metric + " is the " + format_number(q) + " percentile of the repetitions: gating it needs " +
                           "repetitions: " + std::to_string(samples_for_percentile(q)) + " or more, not " +
                           std::to_string(check.repetitions));
  }
}

Check read_check(const YamlFile& f, const YAML::Node& node, std::size_t index, const Timing& defaults) {
  std::string field = "checks[" + std::to_string(index) + "]";
  f.expect_map(node, field, {"id", "kind", "scope", "params", "criteria", "repetitions", "min_time", "deadline"});
  Check check;
  check.line = YamlFile::line(node);
  check.id = f.scalar(f.required(node, "id", field), field + ".id");
  // An id names the check's records and may name files of its own: a name, never a path.
  if (const auto problem = name_problem(check.id)) f.fail(node["id"], field + ".id", *problem);
  field = "checks[" + check.id + "]";

  check.kind = read_kind(f, node, field);
  check.scope = read_scope(f, node, field, *check.kind);
  // `params:` or `criteria:` left empty (YAML null) mean none.
  const YAML::Node params = node["params"];
  check.params = read_params(f, params && !params.IsNull() ? params : YAML::Node(YAML::NodeType::Undefined), node,
                             field + ".params", *check.kind, check.param_lines);
  read_criteria(f, node, field, check);

  Timing timing = defaults;
  read_timing(f, node, field + ".", timing);
  check.repetitions = timing.repetitions;
  check.min_time = timing.min_time;
  check.deadline = timing.deadline;
  check_fits_deadline(f, node, field, check);
  check_tail_repetitions(f, field, check);
  return check;
}

Suite read_suite(const YamlFile& f) {
  const std::string& path = f.path();
  const YAML::Node& root = f.root();
  f.expect_map(root, "", {"name", "description", "platform", "defaults", "checks"});
  Suite suite;
  suite.path = path;
  suite.hash = fnv1a64(f.text());
  suite.name = f.scalar(f.required(root, "name", ""), "name");
  suite.platform = root["platform"] ? f.scalar(root["platform"], "platform") : "auto";
  if (root["platform"]) suite.platform_line = YamlFile::line(root["platform"]);
  // The profile is found as platforms/NAME.yaml: a name, never a path to another file.
  if (const auto problem = name_problem(suite.platform)) f.fail(root["platform"], "platform", *problem);

  Timing defaults;
  if (auto d = root["defaults"]) {
    f.expect_map(d, "defaults", {"repetitions", "min_time", "deadline"});
    read_timing(f, d, "defaults.", defaults);
  }

  const YAML::Node checks = f.required(root, "checks", "");
  if (!checks.IsSequence() || checks.size() == 0) f.fail(checks, "checks", "expected a non-empty list of checks");
  std::set<std::string> ids;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    Check check = read_check(f, checks[i], i, defaults);
    if (!ids.insert(check.id).second) f.fail(checks[i]["id"], "checks[" + check.id + "].id", "duplicate check id");
    suite.checks.push_back(std::move(check));
  }
  return suite;
}

}  // namespace

void check_support(const Suite& suite, const std::string& backend) {
  const auto& registry = BackendRegistry::instance();
  for (const auto& check : suite.checks) {
    const std::string field = "checks[" + check.id + "]";
    const Kind& kind = *check.kind;
    const Support* support = registry.support(backend, kind.name());
    if (!registry.op(backend, kind.name()))
      throw InputError(suite.path, check.line, field + ".kind", "backend " + backend + " has no operation for kind " + kind.name());
    for (const auto& [param, accepted] : *support) {
      if (!check.params.has(param)) continue;
      const std::string& value = check.params.text(param);
      if (std::find(accepted.begin(), accepted.end(), value) != accepted.end()) continue;
      std::string elsewhere;
      for (const auto& other : registry.backends()) {
        const Support* s = registry.support(other, kind.name());
        if (other == backend || !s) continue;
        auto it = s->find(param);
        if (it == s->end() || std::find(it->second.begin(), it->second.end(), value) != it->second.end())
          elsewhere += (elsewhere.empty() ? "" : ", ") + other;
      }
      const auto line = check.param_lines.find(param);
      throw InputError(suite.path, line == check.param_lines.end() ? check.line : line->second, field + ".params." + param,
                       "backend " + backend + " runs " + kind.name() + " with " + param + " " +
                           join(accepted, [](const std::string& a) { return a; }) + ", not " + value +
                           (elsewhere.empty() ? "" : " (backend " + elsewhere + " does)"));
    }
  }
}

Suite load_suite(const std::string& path) { return read_suite(YamlFile(path)); }

Suite parse_suite(const std::string& path, const std::string& text) { return read_suite(YamlFile(path, text)); }

}  // namespace rackqual
