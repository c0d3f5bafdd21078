#pragma once
// A platform profile: a machine's peak figures, each with its source.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "rackqual/input/criteria.hpp"

namespace rackqual {

struct Suite;

struct Peak {
  double value = 0;
  std::string unit;
  std::string source;
};

struct Platform {
  std::string name;
  std::string path;
  std::string description;
  std::vector<std::string> devices;          // device names it fits (substrings, e.g. "H100 80GB HBM3")
  std::map<std::string, Peak> peaks;
  std::map<std::string, Criterion> defaults; // "kind.metric" -> criterion for checks that name none

  std::optional<double> peak(const std::string& key) const;
  const Criterion* default_for(const std::string& kind, const std::string& metric) const;
};

// Loads and validates a profile file; throws InputError.
Platform load_platform(const std::string& path);
// The same from the file's text, read elsewhere from `path` (which errors name).
Platform parse_platform(const std::string& path, const std::string& text);
// The profile for a device name among the profiles in `dirs`: the one whose longest `devices`
// entry is found in the name (so "GB200" wins over "B200"); empty when none fits.
std::string match_platform(const std::string& device_name, const std::vector<std::string>& dirs);
// The profile a suite runs against: the suite's own, or for "auto" the one matching the
// device (cuda) or the backend's own (host). Throws InputError when none fits.
std::string resolve_platform(const Suite& suite, const std::string& backend, const std::string& device_name,
                             const std::vector<std::string>& dirs);
// Where profiles are looked for: the suite's platforms/ folder, then the installed ones.
std::vector<std::string> platform_dirs(const std::string& suite_path);
// A suite shipped with rackqual (suites/NAME), where the installed data lives.
std::string installed_suite(const std::string& name);
// Finds a profile by name in `dirs`, in order; empty when absent.
std::string find_platform(const std::string& name, const std::vector<std::string>& dirs);

}  // namespace rackqual
