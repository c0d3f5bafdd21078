#pragma once
// Typed parameters of a benchmark kind: their declaration and their values.
#include <any>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace rackqual {

enum class ParamType { integer, bytes, bytes_list, choice };

// One parameter a kind accepts, with its default and bounds.
struct ParamSpec {
  std::string name;
  ParamType type;
  std::string default_value;          // as a suite would write it; empty: required
  std::string help;
  std::vector<std::string> choices;   // for ParamType::choice
  std::int64_t min = 1;               // for integers and byte sizes
};

std::string_view to_string(ParamType t);

using ParamValue = std::variant<std::int64_t, std::string, std::vector<std::int64_t>>;

// Values of a check's parameters after validation; lookups of undeclared names throw.
class Params {
 public:
  void set(const std::string& name, ParamValue value) { values_[name] = std::move(value); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::int64_t integer(const std::string& name) const;
  const std::string& text(const std::string& name) const;
  const std::vector<std::int64_t>& list(const std::string& name) const;
  nlohmann::json to_json() const;
  bool operator==(const Params& other) const { return values_ == other.values_; }

  // The kind's typed parameters of one measurement point (kind_params.hpp), decoded once when
  // the suite is planned; throws std::logic_error when absent or of another type.
  template <typename T>
  const T& typed() const {
    const T* t = std::any_cast<T>(&typed_);
    if (!t) throw std::logic_error("typed parameters not decoded for this point");
    return *t;
  }
  void set_typed(std::any typed) { typed_ = std::move(typed); }

 private:
  const ParamValue& get(const std::string& name) const;
  std::map<std::string, ParamValue> values_;
  std::any typed_;
};

// Parses one value written as text (a YAML scalar) for a parameter; throws FieldError.
ParamValue parse_param(const ParamSpec& spec, const std::string& text);
ParamValue parse_param_list(const ParamSpec& spec, const std::vector<std::string>& items);

}  // namespace rackqual
