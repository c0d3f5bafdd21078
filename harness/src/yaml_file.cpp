#include "yaml_file.hpp"

#include <cmath>

#include "input_file.hpp"
#include "rackqual/text.hpp"

namespace rackqual {

YamlFile::YamlFile(std::string path) : path_(std::move(path)), text_(read_input_file(path_, max_bytes)) { parse(); }

YamlFile::YamlFile(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) { parse(); }

void YamlFile::parse() {
  try {
    root_ = YAML::Load(text_);
  } catch (const YAML::Exception& e) {
    throw InputError(path_, std::max(1, e.mark.line + 1), "yaml", e.msg);
  }
  if (!root_.IsMap()) throw InputError(path_, line(root_), "file", "expected a mapping at the top level");
}

void YamlFile::expect_map(const YAML::Node& node, const std::string& field, const std::set<std::string>& allowed) const {
  if (!node.IsMap()) fail(node, field, "expected a mapping");
  for (const auto& item : node) {
    const std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    if (key.empty()) fail(item.first, field.empty() ? "file" : field, "a key must be a non-empty name");
    if (!allowed.count(key)) {
      fail(item.first, field.empty() ? key : field + "." + key, "unknown field (known: " + join(allowed, [](auto& k) { return k; }) + ")");
    }
  }
}

std::string YamlFile::scalar(const YAML::Node& node, const std::string& field) const {
  if (!node.IsScalar()) fail(node, field, "expected a single value");
  return node.Scalar();
}

double YamlFile::number(const YAML::Node& node, const std::string& field) const {
  const std::string text = scalar(node, field);
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  fail(node, field, "expected a number, got '" + text + "'");
}

YAML::Node YamlFile::required(const YAML::Node& map, const std::string& key, const std::string& field) const {
  YAML::Node node = map[key];
  if (!node) fail(map, field.empty() ? key : field + "." + key, "required field is missing");
  return node;
}

}  // namespace rackqual
