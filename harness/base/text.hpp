#pragma once
// Small text helpers for messages and tables.
#include <cstdio>
#include <string>

namespace rackqual {

// A figure with four significant digits, as tables and reasons show it.
inline std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// "a, b, c" from any range, each element turned into text by `text`.
template <typename Range, typename Text>
std::string join(const Range& items, Text text, const std::string& separator = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + std::string(text(item));
  return out;
}

}  // namespace rackqual
