#pragma once
// One acceptance criterion read from YAML, for suites and for platform defaults alike.
#include <string>

#include "rackqual/api/kind.hpp"
#include "rackqual/input/criteria.hpp"
#include "yaml_file.hpp"

namespace rackqual {

// `key` is where the metric is named; `params` (the check's) lets `at` pick a swept point,
// and is null for a platform default, where `at` is refused. Throws InputError.
Criterion read_criterion(const YamlFile& f, const YAML::Node& key, const std::string& metric, const YAML::Node& body,
                         const std::string& field, const Kind& kind, const Params* params);

}  // namespace rackqual
