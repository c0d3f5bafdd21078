#pragma once
// A suite: a YAML file naming checks. A check = a kind + parameters + scope + criteria.
#include <string>
#include <vector>

#include "rackqual/criteria.hpp"
#include "rackqual/defaults.hpp"
#include "rackqual/kind.hpp"
#include "rackqual/params.hpp"
#include "rackqual/scope.hpp"

namespace rackqual {

struct Check {
  std::string id;
  const Kind* kind = nullptr;
  Scope scope = Scope::gpu;
  Params params;
  std::vector<Criterion> criteria;
  int repetitions = defaults::repetitions;   // timed repetitions; the median is the headline
  double min_time = defaults::min_time_s;    // seconds each repetition should last
  double deadline = defaults::deadline_s;    // seconds the whole check may take before it is an error
  int line = 0;             // where it stands in the suite file
};

struct Suite {
  std::string name;
  std::string path;
  std::string hash;         // FNV-1a 64 of the file's bytes, hex
  std::string platform;     // profile name, or "auto"
  std::vector<Check> checks;
};

// Loads and validates a suite; every problem throws InputError("file:line: field: message").
Suite load_suite(const std::string& path);

}  // namespace rackqual
