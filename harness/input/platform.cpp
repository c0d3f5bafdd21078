#include "rackqual/input/platform.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "criterion_yaml.hpp"
#include "rackqual/base/name.hpp"
#include "rackqual/input/suite.hpp"
#include "yaml_file.hpp"

#ifndef RACKQUAL_DATA_DIR
#define RACKQUAL_DATA_DIR "."
#endif

namespace rackqual {

std::optional<double> Platform::peak(const std::string& key) const {
  auto it = peaks.find(key);
  if (it == peaks.end()) return std::nullopt;
  return it->second.value;
}

const Criterion* Platform::default_for(const std::string& kind, const std::string& metric) const {
  auto it = defaults.find(kind + "." + metric);
  return it == defaults.end() ? nullptr : &it->second;
}

namespace {

// The peak figures, "figure: {value, unit, source}".
void read_peaks(const YamlFile& f, const YAML::Node& root, Platform& p) {
  const YAML::Node peaks = f.required(root, "peaks", "");
  if (!peaks.IsMap()) f.fail(peaks, "peaks", "expected a mapping of figure name to {value, unit, source}");
  for (const auto& item : peaks) {
    const std::string key = item.first.Scalar();
    const std::string field = "peaks." + key;
    if (!YamlFile::plain(key)) f.fail(item.first, "peaks", "a figure's name is a word without spaces or ':', got '" + key + "'");
    f.expect_map(item.second, field, {"value", "unit", "source"});
    Peak peak;
    peak.value = f.number(f.required(item.second, "value", field), field + ".value");
    if (!(peak.value > 0)) f.fail(item.second["value"], field + ".value", "a peak must be positive");
    peak.unit = f.scalar(f.required(item.second, "unit", field), field + ".unit");
    peak.source = f.scalar(f.required(item.second, "source", field), field + ".source");
    p.peaks.emplace(key, peak);
  }
}

// Default criteria, "kind.metric: {bounds}", for checks that name none for that metric.
void read_defaults(const YamlFile& f, const YAML::Node& defaults, Platform& p) {
  if (!defaults.IsMap()) f.fail(defaults, "defaults", "expected a mapping of kind.metric to a criterion");
  for (const auto& item : defaults) {
    const std::string key = item.first.Scalar();
    const std::string field = "defaults." + key;
    if (!YamlFile::plain(key)) f.fail(item.first, "defaults", "expected KIND.METRIC such as gemm.tflops, got '" + key + "'");
    const auto dot = key.find('.');
    const Kind* kind = dot == std::string::npos ? nullptr : KindRegistry::instance().find(key.substr(0, dot));
    if (!kind) f.fail(item.first, field, "expected KIND.METRIC with a known kind, e.g. gemm.tflops");
    p.defaults.emplace(key, read_criterion(f, item.first, key.substr(dot + 1), item.second, field, *kind, nullptr));
  }
}

// What healthy parts of the model reach, "figure: {fraction_of_peak, peak, source}", read by
// the benchmarks (bench/gpu_ratios.py); validated here so that a typo fails at load time.
void check_expected(const YamlFile& f, const YAML::Node& expected, const Platform& p) {
  if (!expected.IsMap())
    f.fail(expected, "expected", "expected a mapping of figure name to {fraction_of_peak, peak, source}");
  for (const auto& item : expected) {
    const std::string field = "expected." + item.first.Scalar();
    if (!YamlFile::plain(item.first.Scalar()))
      f.fail(item.first, "expected", "a figure's name is a word without spaces or ':', got '" + item.first.Scalar() + "'");
    f.expect_map(item.second, field, {"fraction_of_peak", "peak", "source"});
    const YAML::Node fraction = f.required(item.second, "fraction_of_peak", field);
    if (const double v = f.number(fraction, field + ".fraction_of_peak"); !(v > 0 && v <= 1))
      f.fail(fraction, field + ".fraction_of_peak", "a fraction of peak must be in (0, 1]");
    const YAML::Node peak = f.required(item.second, "peak", field);
    if (!p.peaks.count(f.scalar(peak, field + ".peak")))
      f.fail(peak, field + ".peak", "no figure '" + peak.Scalar() + "' in peaks");
    f.scalar(f.required(item.second, "source", field), field + ".source");
  }
}

Platform read_platform(const YamlFile& f) {
  const std::string& path = f.path();
  const YAML::Node& root = f.root();
  f.expect_map(root, "", {"name", "description", "devices", "peaks", "defaults", "expected"});
  Platform p;
  p.path = path;
  p.name = f.scalar(f.required(root, "name", ""), "name");
  if (const auto problem = name_problem(p.name)) f.fail(root["name"], "name", *problem);
  if (auto d = root["description"]) p.description = f.scalar(d, "description");
  if (auto devices = root["devices"]) {
    if (!devices.IsSequence()) f.fail(devices, "devices", "expected a list of device names");
    for (const auto& d : devices) p.devices.push_back(f.scalar(d, "devices"));
  }
  read_peaks(f, root, p);
  if (auto defaults = root["defaults"]) read_defaults(f, defaults, p);
  if (auto expected = root["expected"]) check_expected(f, expected, p);
  return p;
}

}  // namespace

Platform load_platform(const std::string& path) { return read_platform(YamlFile(path)); }

Platform parse_platform(const std::string& path, const std::string& text) { return read_platform(YamlFile(path, text)); }

// What a suite may reach: a suite reads no file but its platform profile, and runs no command.
// The profile is NAME.yaml in the suite's own platforms/ folder or in the installed
// suites/platforms/, and NAME (the suite's `platform:`, --platform, a profile's `name:`) is a
// name (name.hpp), so that no suite can point at a file elsewhere.
std::vector<std::string> platform_dirs(const std::string& suite_path) {
  // RACKQUAL_DATA_DIR in the environment moves the installed data (a relocated bundle); the
  // compiled-in folder (the source tree) otherwise.
  const char* moved = std::getenv("RACKQUAL_DATA_DIR");
  const std::filesystem::path data = moved && *moved ? moved : RACKQUAL_DATA_DIR;
  return {(std::filesystem::path(suite_path).parent_path() / "platforms").string(),
          (data / "suites" / "platforms").string()};
}

std::string installed_suite(const std::string& name) {
  const char* moved = std::getenv("RACKQUAL_DATA_DIR");
  const std::filesystem::path data = moved && *moved ? moved : RACKQUAL_DATA_DIR;
  return (data / "suites" / name).string();
}

std::string find_platform(const std::string& name, const std::vector<std::string>& dirs) {
  if (!is_name(name)) return "";
  for (const auto& dir : dirs) {
    // A name no file can have (too long, say) is simply absent, as is one in a folder not there.
    const auto candidate = std::filesystem::path(dir) / (name + ".yaml");
    std::error_code unreadable;
    if (std::filesystem::is_regular_file(candidate, unreadable)) return candidate.string();
  }
  return "";
}

std::string match_platform(const std::string& device_name, const std::vector<std::string>& dirs) {
  // A PCIe or NVL card (lower power, lower figures: "NVIDIA H200 NVL", "NVIDIA H100 PCIe") fits
  // only a pattern that names its form factor, never the SXM part's shorter name ("H200").
  auto has_word = [](const std::string& text, const std::string& word) {
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
      const bool starts = at == 0 || text[at - 1] == ' ' || text[at - 1] == '-';
      const std::size_t end = at + word.size();
      if (starts && (end == text.size() || text[end] == ' ' || text[end] == '-')) return true;
    }
    return false;
  };
  auto fits = [&](const std::string& pattern) {
    if (device_name.find(pattern) == std::string::npos) return false;
    for (const char* form_factor : {"NVL", "PCIe"})
      if (has_word(device_name, form_factor) && !has_word(pattern, form_factor)) return false;
    return true;
  };
  std::string best;
  std::size_t best_length = 0;
  for (const auto& dir : dirs) {
    std::error_code unreadable;
    if (!std::filesystem::is_directory(dir, unreadable)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const Platform p = load_platform(file.string());
      for (const auto& pattern : p.devices) {
        if (pattern.size() > best_length && fits(pattern)) {
          best = p.name;
          best_length = pattern.size();
        }
      }
    }
    if (!best.empty()) return best;   // the suite's own profiles first
  }
  return best;
}

std::string resolve_platform(const Suite& suite, const std::string& backend, const std::string& device_name,
                             const std::vector<std::string>& dirs) {
  if (suite.platform != "auto") return suite.platform;
  if (backend == "host") return "host";
  const std::string name = match_platform(device_name, dirs);
  if (name.empty())
    throw InputError(suite.path, suite.platform_line, "platform", "auto: no profile lists device '" + device_name +
                                                    "'; name one with platform: (profiles in suites/platforms)");
  return name;
}

}  // namespace rackqual
