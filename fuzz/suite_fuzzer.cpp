// Suites: parsed from the input, then planned against every shipped platform profile (which
// decodes each kind's parameters and resolves each criterion against the profile's peaks).
#include <cstdint>
#include <filesystem>
#include <vector>

#include "oracle.hpp"
#include "rackqual/input/platform.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/plan/plan.hpp"

namespace {

const std::vector<rackqual::Platform>& profiles() {
  static const std::vector<rackqual::Platform> all = [] {
    std::vector<rackqual::Platform> out;
    for (const auto& entry : std::filesystem::directory_iterator(RACKQUAL_SOURCE_DIR "/suites/platforms"))
      out.push_back(rackqual::load_platform(entry.path().string()));
    return out;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& platforms = profiles();
  rackqual::fuzz::expect_clean(text, [&] {
    const rackqual::Suite suite = rackqual::parse_suite("suite.yaml", text);
    for (const auto& platform : platforms) {
      try {
        rackqual::plan_suite(suite, platform);
      } catch (const rackqual::InputError& e) {
        // A criterion relative to a peak this profile lacks: fine for this profile alone.
        if (e.message().find("relative to peak") == std::string::npos) throw;
      }
    }
  });
  return 0;
}
