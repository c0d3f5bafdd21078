#pragma once
// A suite ready to run or to judge by: loaded, checked against a backend, its platform profile
// resolved and every check planned. The CLI, the Python module and rejudging share it.
#include <memory>
#include <string>
#include <vector>

#include "rackqual/input/platform.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/plan/plan.hpp"

namespace rackqual {

struct PreparedSuite {
  std::string path;
  std::unique_ptr<Suite> suite;   // held where it is: plans point into it
  Platform platform;
  std::vector<CheckPlan> plans;
};

// Loads the suite at `path` for `backend` (every check's kind and parameters supported) and
// plans the checks `only` names (all when empty) against its platform: `platform_name`, else the
// suite's, else for "auto" the profile matching `device_name` (cuda) or the backend's own (host).
// Throws InputError (file:line: field: message).
PreparedSuite prepare_suite(const std::string& path, const std::string& backend, const std::string& device_name,
                            const std::vector<std::string>& only = {}, const std::string& platform_name = "");

// A platform profile by name, from the suite's folder or the installed ones; `field` names the
// option or key that asked for it in the error, `line` the suite's line that names it. Throws InputError.
Platform platform_profile(const std::string& suite_path, const std::string& name, const std::string& field, int line = 1);

}  // namespace rackqual
