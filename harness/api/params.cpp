#include "rackqual/api/params.hpp"

#include <algorithm>
#include <stdexcept>

#include "rackqual/base/error.hpp"
#include "rackqual/base/text.hpp"
#include "rackqual/base/units.hpp"

namespace rackqual {

std::string_view to_string(ParamType t) {
  switch (t) {
    case ParamType::integer: return "integer";
    case ParamType::bytes: return "size";
    case ParamType::bytes_list: return "list of sizes";
    case ParamType::choice: return "choice";
  }
  return "?";
}

const ParamValue& Params::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("parameter not set: " + name);
  return it->second;
}

std::int64_t Params::integer(const std::string& name) const { return std::get<std::int64_t>(get(name)); }
const std::string& Params::text(const std::string& name) const { return std::get<std::string>(get(name)); }
const std::vector<std::int64_t>& Params::list(const std::string& name) const {
  return std::get<std::vector<std::int64_t>>(get(name));
}

nlohmann::json Params::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& item : values_) std::visit([&](const auto& v) { j[item.first] = v; }, item.second);
  return j;
}

namespace {

std::int64_t parse_integer(const ParamSpec& spec, const std::string& text) {
  std::optional<std::int64_t> value;
  if (spec.type == ParamType::integer) {
    try {
      std::size_t used = 0;
      const long long v = std::stoll(text, &used);
      if (used == text.size()) value = v;
    } catch (const std::exception&) {
    }
    if (!value) throw FieldError(spec.name, "expected an integer, got '" + text + "'");
  } else {
    value = parse_bytes(text);
    if (!value) throw FieldError(spec.name, "expected a size such as 4096, 64MiB or 8GiB, got '" + text + "'");
  }
  if (*value < spec.min)
    throw FieldError(spec.name, "must be at least " + std::to_string(spec.min) + ", got " + text);
  return *value;
}

}  // namespace

ParamValue parse_param(const ParamSpec& spec, const std::string& text) {
  switch (spec.type) {
    case ParamType::integer:
    case ParamType::bytes:
      return parse_integer(spec, text);
    case ParamType::bytes_list: {  // one size, or several separated by commas
      std::vector<std::string> items;
      for (std::size_t start = 0, comma; start <= text.size(); start = comma + 1) {
        comma = std::min(text.find(',', start), text.size());
        items.push_back(text.substr(start, comma - start));
        while (!items.back().empty() && items.back().front() == ' ') items.back().erase(0, 1);
      }
      return parse_param_list(spec, items);
    }
    case ParamType::choice:
      if (std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
        throw FieldError(spec.name, "expected one of " + join(spec.choices, [](auto& c) { return c; }) + ", got '" + text + "'");
      }
      return text;
  }
  throw std::logic_error("unknown parameter type");
}

ParamValue parse_param_list(const ParamSpec& spec, const std::vector<std::string>& items) {
  if (spec.type != ParamType::bytes_list) throw FieldError(spec.name, "expected a single value, got a list");
  if (items.empty()) throw FieldError(spec.name, "expected at least one size");
  std::vector<std::int64_t> sizes;
  const ParamSpec one{spec.name, ParamType::bytes, "", "", {}, spec.min};
  for (const auto& item : items) sizes.push_back(parse_integer(one, item));
  return sizes;
}

}  // namespace rackqual
