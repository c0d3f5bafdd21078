#pragma once
// A suite: a YAML file naming checks. A check = a kind + parameters + scope + criteria.
#include <map>
#include <string>
#include <vector>

#include "rackqual/api/kind.hpp"
#include "rackqual/api/params.hpp"
#include "rackqual/base/defaults.hpp"
#include "rackqual/base/scope.hpp"
#include "rackqual/input/criteria.hpp"

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
  std::map<std::string, int> param_lines;   // where each parameter is written (the check's line when defaulted)
};

struct Suite {
  std::string name;
  std::string path;
  std::string hash;         // FNV-1a 64 of the file's bytes, hex
  std::string platform;     // profile name, or "auto"
  int platform_line = 1;    // where the profile is named (line 1 when defaulted)
  std::vector<Check> checks;
};

// Loads and validates a suite; every problem throws InputError("file:line: field: message").
Suite load_suite(const std::string& path);
// The same from the file's text, read elsewhere from `path` (which errors name).
Suite parse_suite(const std::string& path, const std::string& text);
// Checks that a backend has an operation for every check's kind that accepts its parameters
// (dtype, op, ...), before anything runs; throws InputError naming the parameter's line.
void check_support(const Suite& suite, const std::string& backend);

}  // namespace rackqual
