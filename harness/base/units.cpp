#include "rackqual/base/units.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <utility>

namespace rackqual {
namespace {

// Splits "64MiB" into 64 and "MiB"; the number may be written 1e6 or 1.5.
bool split_number(const std::string& text, double& number, std::string& suffix) {
  if (text.empty()) return false;
  const char* begin = text.c_str();
  char* end = nullptr;
  number = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(number)) return false;
  suffix.assign(end);
  while (!suffix.empty() && std::isspace(static_cast<unsigned char>(suffix.front()))) suffix.erase(0, 1);
  return true;
}

}  // namespace

std::optional<std::int64_t> parse_bytes(const std::string& text) {
  double number = 0;
  std::string suffix;
  if (!split_number(text, number, suffix)) return std::nullopt;
  static const std::pair<const char*, double> units[] = {
      {"", 1},          {"B", 1},           {"KiB", 1024.0},  {"MiB", 1048576.0},
      {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}, {"kB", 1e3}, {"KB", 1e3},
      {"MB", 1e6},      {"GB", 1e9},        {"TB", 1e12}};
  for (const auto& [name, scale] : units) {
    if (suffix == name) {
      const double bytes = number * scale;
      if (bytes != std::floor(bytes) || std::fabs(bytes) > 9.0e18) return std::nullopt;
      return static_cast<std::int64_t>(bytes);
    }
  }
  return std::nullopt;
}

std::optional<double> parse_seconds(const std::string& text) {
  double number = 0;
  std::string suffix;
  if (!split_number(text, number, suffix)) return std::nullopt;
  if (suffix.empty() || suffix == "s") return number;
  if (suffix == "ms") return number / 1e3;
  if (suffix == "us") return number / 1e6;
  if (suffix == "m" || suffix == "min") return number * 60;
  if (suffix == "h") return number * 3600;
  return std::nullopt;
}

std::string format_bytes(std::int64_t bytes) {
  static const std::pair<const char*, std::int64_t> units[] = {
      {"TiB", 1LL << 40}, {"GiB", 1LL << 30}, {"MiB", 1LL << 20}, {"KiB", 1LL << 10}};
  for (const auto& [name, scale] : units)
    if (bytes != 0 && bytes % scale == 0) return std::to_string(bytes / scale) + name;
  return std::to_string(bytes) + "B";
}

}  // namespace rackqual
