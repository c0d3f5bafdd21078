#include "rackqual/platform.hpp"

#include <filesystem>

#include "rackqual/suite.hpp"
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

Platform load_platform(const std::string& path) {
  const YamlFile f(path);
  const YAML::Node& root = f.root();
  f.expect_map(root, "", {"name", "description", "peaks"});
  Platform p;
  p.path = path;
  p.name = f.scalar(f.required(root, "name", ""), "name");
  if (auto d = root["description"]) p.description = f.scalar(d, "description");
  const YAML::Node peaks = f.required(root, "peaks", "");
  if (!peaks.IsMap()) f.fail(peaks, "peaks", "expected a mapping of figure name to {value, unit, source}");
  for (const auto& item : peaks) {
    const std::string key = item.first.Scalar();
    const std::string field = "peaks." + key;
    f.expect_map(item.second, field, {"value", "unit", "source"});
    Peak peak;
    peak.value = f.number(f.required(item.second, "value", field), field + ".value");
    if (!(peak.value > 0)) f.fail(item.second["value"], field + ".value", "a peak must be positive");
    peak.unit = f.scalar(f.required(item.second, "unit", field), field + ".unit");
    peak.source = f.scalar(f.required(item.second, "source", field), field + ".source");
    p.peaks.emplace(key, peak);
  }
  return p;
}

void check_peaks(const Suite& suite, const Platform& platform) {
  for (const auto& check : suite.checks) {
    for (const auto& c : check.criteria) {
      if (!c.uses_peak()) continue;
      for (const auto& point : check.kind->points(check.params)) {
        const std::string key = check.kind->peak_key(c.metric, point);
        if (!platform.peak(key))
          throw InputError(suite.path, c.line, "checks[" + check.id + "].criteria." + c.metric,
                           "relative to peak, but platform " + platform.name + " (" + platform.path + ") gives no figure '" +
                               key + "'");
      }
    }
  }
}

std::string resolve_platform(const std::string& suite_platform, const std::string& backend) {
  if (suite_platform != "auto") return suite_platform;
  return backend;  // until a device-name match picks a GPU profile, a backend's own profile
}

std::string find_platform(const std::string& name, const std::string& dir) {
  for (const std::filesystem::path& candidate :
       {std::filesystem::path(dir) / (name + ".yaml"),
        std::filesystem::path(RACKQUAL_DATA_DIR) / "suites" / "platforms" / (name + ".yaml")}) {
    if (std::filesystem::exists(candidate)) return candidate.string();
  }
  return "";
}

}  // namespace rackqual
