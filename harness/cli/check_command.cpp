// `rackqual check`: a suite validated for a backend and platform without running anything.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <set>

#include "commands.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/base/text.hpp"
#include "rackqual/input/platform.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/plan/plan.hpp"
#include "rackqual/plan/prepared_suite.hpp"

namespace rackqual {
namespace {

// The profiles of GPUs (those that name devices), by name.
std::vector<std::string> gpu_profiles(const std::string& suite_path) {
  std::set<std::string> names;
  for (const auto& dir : platform_dirs(suite_path)) {
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.path().extension() == ".yaml" && !load_platform(entry.path().string()).devices.empty())
        names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

// `rackqual check`: a suite validated for a backend and platform without running anything,
// on any machine (a login node without a GPU checks a GPU suite). Backend auto: host when it
// runs every check, else cuda. Platform: --platform, else the suite's; for auto on cuda the
// profile of --device, or else every GPU profile in turn. Throws InputError.
void check_suite(const std::string& suite_path, std::string backend, const std::string& platform_name,
                 const std::string& device_name) {
  Suite suite = load_suite(suite_path);
  if (backend == "auto") {
    backend = "host";
    try {
      check_support(suite, "host");
    } catch (const InputError& on_host) {
      if (!BackendRegistry::instance().has("cuda")) throw;
      backend = "cuda";
      check_support(suite, "cuda");
    }
  }
  check_support(suite, backend);
  std::vector<std::string> names;
  if (!platform_name.empty()) names = {platform_name};
  else if (suite.platform != "auto" || backend == "host" || !device_name.empty())
    names = {resolve_platform(suite, backend, device_name, platform_dirs(suite_path))};
  else
    names = gpu_profiles(suite_path);
  for (const auto& name : names)
    plan_suite(suite, platform_name.empty() ? platform_profile(suite_path, name, "platform", suite.platform_line)
                                            : platform_profile(suite_path, name, "--platform"));
  std::printf("%s: suite %s is valid: %zu checks, backend %s, platform%s %s\n", suite_path.c_str(), suite.name.c_str(),
              suite.checks.size(), backend.c_str(), names.size() == 1 ? "" : "s",
              join(names, [](const std::string& n) { return n; }).c_str());
}

class CheckCommand : public Command {
 public:
  explicit CheckCommand(CLI::App& app) {
    cli = app.add_subcommand("check", "Validate a suite and its platform profile without running it");
    cli->add_option("suite", suite_path_, "Suite YAML file")->required();
    cli->add_option("--backend", backend_, "Backend to check against: auto (host when it runs every check, else cuda), host, cuda")
        ->check(CLI::IsMember({"auto", "host", "cuda"}));
    cli->add_option("--platform", platform_, "Platform profile to check against (default: the suite's; for auto on cuda, "
                                             "the --device's profile or every GPU profile)");
    cli->add_option("--device", device_, "Device name 'auto' matches on the cuda backend (e.g. 'NVIDIA H100 80GB HBM3')");
  }
  int run(int, char**) override {
    check_suite(suite_path_, backend_, platform_, device_);
    return exit_pass;
  }

 private:
  std::string suite_path_, backend_ = "auto", platform_, device_;
};

}  // namespace

std::unique_ptr<Command> add_check_command(CLI::App& app) { return std::make_unique<CheckCommand>(app); }

}  // namespace rackqual
