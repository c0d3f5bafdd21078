#pragma once
// Reading YAML with every complaint pointing at file:line and the field's path.
#include <algorithm>
#include <set>
#include <string>

#include <yaml-cpp/yaml.h>

#include "rackqual/base/error.hpp"

namespace rackqual {

class YamlFile {
 public:
  // Parses the file; throws InputError for an unreadable file or malformed YAML.
  explicit YamlFile(std::string path);
  // Parses `text`, read elsewhere from `path` (which errors name); throws InputError for malformed YAML.
  YamlFile(std::string path, std::string text);
  const YAML::Node& root() const { return root_; }
  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }

  // The node's line, counted from 1; line 1 for a node without a place in the text.
  static int line(const YAML::Node& node) { return node.IsDefined() ? std::max(1, node.Mark().line + 1) : 1; }
  [[noreturn]] void fail(const YAML::Node& at, const std::string& field, const std::string& message) const {
    throw InputError(path_, line(at), field, message);
  }
  // A key that can stand in a field's path: not empty, without spaces, control characters or ':'
  // (which would break "file:line: field: message" apart). Others are named in messages instead.
  static bool plain(const std::string& key);
  // The node must be a mapping whose keys are all in `allowed`.
  void expect_map(const YAML::Node& node, const std::string& field, const std::set<std::string>& allowed) const;
  std::string scalar(const YAML::Node& node, const std::string& field) const;
  double number(const YAML::Node& node, const std::string& field) const;
  // A required key of a mapping.
  YAML::Node required(const YAML::Node& map, const std::string& key, const std::string& field) const;

 private:
  // Suites, profiles and inventories are a few kilobytes: anything past this is not one.
  static constexpr std::size_t max_bytes = 64u << 20;
  void parse();
  void refuse_repeated_keys(const YAML::Node& node, const std::string& field, std::set<int>& seen) const;
  static std::string item_name(const YAML::Node& item, std::size_t index);

  std::string path_;
  std::string text_;
  YAML::Node root_;
};

}  // namespace rackqual
