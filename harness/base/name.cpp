#include "rackqual/base/name.hpp"

#include <cstdio>

namespace rackqual {
namespace {

bool printable(char c) { return c >= ' ' && c < 0x7f; }

// The text quoted for a one-line message: anything unprintable as \xNN.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (printable(c)) {
      out += c;
      continue;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(c));
    out += hex;
  }
  return out + "'";
}

bool allowed(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

}  // namespace

std::optional<std::string> name_problem(const std::string& text) {
  const std::string rule = " (a name is letters, digits, '.', '_' and '-', not starting with '.')";
  if (text.empty()) return "expected a name, got nothing" + rule;
  if (text.size() > 255) return "a name is at most 255 characters, not " + std::to_string(text.size());
  if (text.find('/') != std::string::npos) return quoted(text) + " is a path, not a name" + rule;
  if (text.front() == '.') return quoted(text) + " starts with '.'" + rule;
  for (const char c : text) {
    if (allowed(c)) continue;
    std::string what = quoted(std::string(1, c));
    if (c == ' ') what = "a space";
    return quoted(text) + " holds " + what + rule;
  }
  return std::nullopt;
}

bool is_name(const std::string& text) { return !name_problem(text); }

}  // namespace rackqual
