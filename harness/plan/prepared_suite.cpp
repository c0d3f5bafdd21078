#include "rackqual/plan/prepared_suite.hpp"

#include "rackqual/base/error.hpp"
#include "rackqual/base/name.hpp"

namespace rackqual {

Platform platform_profile(const std::string& suite_path, const std::string& name, const std::string& field, int line) {
  if (const auto problem = name_problem(name)) throw InputError(suite_path, line, field, *problem);
  const auto dirs = platform_dirs(suite_path);
  const std::string path = find_platform(name, dirs);
  if (path.empty())
    throw InputError(suite_path, line, field, "no profile named '" + name + "' in " + dirs.front() + " or " + dirs.back());
  return load_platform(path);
}

PreparedSuite prepare_suite(const std::string& path, const std::string& backend, const std::string& device_name,
                            const std::vector<std::string>& only, const std::string& platform_name) {
  PreparedSuite prepared;
  prepared.path = path;
  prepared.suite = std::make_unique<Suite>(load_suite(path));
  check_support(*prepared.suite, backend);
  prepared.platform = platform_name.empty()
                          ? platform_profile(path, resolve_platform(*prepared.suite, backend, device_name, platform_dirs(path)), "platform",
                                             prepared.suite->platform_line)
                          : platform_profile(path, platform_name, "--platform");
  prepared.plans = plan_suite(*prepared.suite, prepared.platform, only);
  return prepared;
}

}  // namespace rackqual
