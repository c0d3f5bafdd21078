#pragma once
// A platform profile: a machine's peak figures, each with its source.
#include <map>
#include <optional>
#include <string>

namespace rackqual {

struct Peak {
  double value = 0;
  std::string unit;
  std::string source;
};

struct Platform {
  std::string name;
  std::string path;
  std::string description;
  std::map<std::string, Peak> peaks;

  std::optional<double> peak(const std::string& key) const;
};

// Loads and validates a profile file; throws InputError.
Platform load_platform(const std::string& path);
// Checks that every criterion relative to peak finds its figure in the profile; throws InputError.
void check_peaks(const struct Suite& suite, const Platform& platform);
// The profile a suite runs against on a backend: the suite's, or for "auto" the backend's own.
std::string resolve_platform(const std::string& suite_platform, const std::string& backend);
// Finds a profile by name: `dir`/NAME.yaml first, then the installed suites/platforms.
std::string find_platform(const std::string& name, const std::string& dir);

}  // namespace rackqual
