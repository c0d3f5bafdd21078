#include "yaml_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>

#include <yaml-cpp/depthguard.h>

#include "input_file.hpp"
#include "rackqual/base/text.hpp"

namespace rackqual {
namespace {

// Where the text stops being UTF-8 without NUL bytes (YAML allows neither, and every name read
// from it ends up in JSON records): the offset of the first bad byte, or npos.
std::size_t first_bad_byte(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return i;
    const int more = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : -1;
    if (more < 0 || (more > 0 && i + static_cast<std::size_t>(more) >= text.size())) return i;
    std::uint32_t code = more == 0 ? c : c & (0x3f >> more);
    for (int k = 1; k <= more; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return i;
      code = code << 6 | (next & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and values past U+10FFFF are not UTF-8.
    static const std::uint32_t least[] = {0, 0x80, 0x800, 0x10000};
    if (code < least[more] || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return i;
    i += static_cast<std::size_t>(more) + 1;
  }
  return std::string::npos;
}

}  // namespace

YamlFile::YamlFile(std::string path) : path_(std::move(path)), text_(read_input_file(path_, max_bytes)) { parse(); }

YamlFile::YamlFile(std::string path, std::string text) : path_(std::move(path)), text_(std::move(text)) { parse(); }

void YamlFile::parse() {
  if (const std::size_t bad = first_bad_byte(text_); bad != std::string::npos) {
    const std::size_t newline = bad == 0 ? std::string::npos : text_.rfind('\n', bad - 1);
    const int line_number = 1 + static_cast<int>(std::count(text_.begin(), text_.begin() + static_cast<long>(bad), '\n'));
    const std::size_t column = bad - (newline == std::string::npos ? 0 : newline + 1) + 1;
    throw InputError(path_, line_number, "file",
                     std::string(text_[bad] == '\0' ? "a NUL byte" : "not UTF-8 text") + " at column " + std::to_string(column));
  }
  try {
    root_ = YAML::Load(text_);
  } catch (const YAML::DeepRecursion& e) {   // yaml-cpp says only "bad file"
    throw InputError(path_, std::max(1, e.mark.line + 1), "yaml",
                     "mappings and lists nested more than " + std::to_string(e.depth()) + " levels deep");
  } catch (const YAML::Exception& e) {
    throw InputError(path_, std::max(1, e.mark.line + 1), "yaml", e.msg);
  }
  if (!root_.IsMap()) throw InputError(path_, line(root_), "file", "expected a mapping at the top level");
  std::set<int> seen;
  refuse_repeated_keys(root_, "", seen);
}

// yaml-cpp keeps both entries of a key written twice and finds the first, while PyYAML and
// every Python reader of the same file take the last: the file would mean one thing to the run
// and another to the notebook. Refused at the second one's line, in every mapping however deep.
// `seen`: the places of the collections walked, so that an aliased one is walked once (aliases
// nested in aliases would otherwise multiply the walk).
void YamlFile::refuse_repeated_keys(const YAML::Node& node, const std::string& field, std::set<int>& seen) const {
  if (!(node.IsSequence() || node.IsMap())) return;
  if (const int place = node.Mark().pos; place >= 0 && !seen.insert(place).second) return;
  if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i)
      refuse_repeated_keys(node[i], field + "[" + item_name(node[i], i) + "]", seen);
    return;
  }
  std::map<std::string, int> first_lines;
  for (const auto& item : node) {
    const std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    const std::string here = field.empty() ? key : field + "." + key;
    if (!key.empty()) {
      const auto [first, fresh] = first_lines.emplace(key, line(item.first));
      if (!fresh) {
        const std::string first_at = " (first at line " + std::to_string(first->second) + ")";
        if (plain(key)) fail(item.first, here, "key written twice" + first_at);
        fail(item.first, field.empty() ? "file" : field, "key '" + key + "' written twice" + first_at);
      }
    }
    refuse_repeated_keys(item.second, plain(key) ? here : field, seen);
  }
}

// A list item as a field's path names it: by its id or name where it has a plain one, else by
// its index (checks[gemm-bf16], racks[r17], checks[0]).
std::string YamlFile::item_name(const YAML::Node& item, std::size_t index) {
  if (item.IsMap()) {
    for (const char* key : {"id", "name"}) {
      const YAML::Node name = item[key];
      if (name && name.IsScalar() && plain(name.Scalar())) return name.Scalar();
    }
  }
  return std::to_string(index);
}

void YamlFile::expect_map(const YAML::Node& node, const std::string& field, const std::set<std::string>& allowed) const {
  if (!node.IsMap()) fail(node, field, "expected a mapping");
  for (const auto& item : node) {
    const std::string key = item.first.IsScalar() ? item.first.Scalar() : "";
    if (key.empty()) fail(item.first, field.empty() ? "file" : field, "a key must be a non-empty name");
    if (allowed.count(key)) continue;
    const std::string known = "(known: " + join(allowed, [](auto& k) { return k; }) + ")";
    if (plain(key)) fail(item.first, field.empty() ? key : field + "." + key, "unknown field " + known);
    fail(item.first, field.empty() ? "file" : field, "unknown field '" + key + "' " + known);
  }
}

bool YamlFile::plain(const std::string& key) {
  return !key.empty() && std::none_of(key.begin(), key.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == ':' || c == 127; });
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
