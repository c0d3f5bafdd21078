#include "rackqual/api/kind.hpp"

#include <stdexcept>

namespace rackqual {

std::string_view to_string(Better b) { return b == Better::higher ? "higher" : "lower"; }

std::optional<Better> parse_better(std::string_view text) {
  if (text == "higher") return Better::higher;
  if (text == "lower") return Better::lower;
  return std::nullopt;
}

std::optional<MetricSpec> Kind::metric(const std::string& name) const {
  for (auto& m : metrics())
    if (m.name == name) return m;
  return std::nullopt;
}

std::optional<ParamSpec> Kind::param(const std::string& name) const {
  for (auto& p : params())
    if (p.name == name) return p;
  return std::nullopt;
}

void Kind::validate(const Params& params) const { points(params); }

std::vector<Params> Kind::sweep(const Params& params) const {
  if (sweep_param().empty()) return {params};
  std::vector<Params> out;
  for (std::int64_t value : params.list(sweep_param())) {
    Params point = params;
    point.set(sweep_param(), std::vector<std::int64_t>{value});
    out.push_back(point);
  }
  return out;
}

std::vector<Params> Kind::points(const Params& params) const {
  std::vector<Params> out = sweep(params);
  for (auto& point : out) point.set_typed(decode(point));
  return out;
}

KindRegistry& KindRegistry::instance() {
  static KindRegistry registry;
  return registry;
}

void KindRegistry::add(std::unique_ptr<Kind> kind) {
  const std::string name = kind->name();
  if (!kinds_.emplace(name, std::move(kind)).second) throw std::logic_error("kind registered twice: " + name);
}

const Kind* KindRegistry::find(const std::string& name) const {
  auto it = kinds_.find(name);
  return it == kinds_.end() ? nullptr : it->second.get();
}

std::vector<const Kind*> KindRegistry::all() const {
  std::vector<const Kind*> out;
  for (const auto& [name, kind] : kinds_) out.push_back(kind.get());
  return out;
}

}  // namespace rackqual
