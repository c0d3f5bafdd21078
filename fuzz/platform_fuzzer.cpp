// Platform profiles: parsed from the input, then every shipped suite planned against it (which
// checks the units of its peaks and resolves its default criteria).
#include <cstdint>
#include <vector>

#include "oracle.hpp"
#include "rackqual/input/platform.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/plan/plan.hpp"

namespace {

const std::vector<rackqual::Suite>& suites() {
  static const std::vector<rackqual::Suite> all = [] {
    std::vector<rackqual::Suite> out;
    for (const char* name : {"smoke.yaml", "rack-bringup.yaml", "nightly.yaml"})
      out.push_back(rackqual::load_suite(std::string(RACKQUAL_SOURCE_DIR "/suites/") + name));
    return out;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& shipped = suites();
  rackqual::fuzz::expect_clean(text, [&] {
    const rackqual::Platform platform = rackqual::parse_platform("platform.yaml", text);
    for (const auto& suite : shipped) {
      try {
        rackqual::plan_suite(suite, platform);
      } catch (const rackqual::InputError& e) {
        // The suite's error, at the suite's line: what `rackqual check` says of this pair.
        if (e.file() != suite.path || e.line() < 1) rackqual::fuzz::finding(std::string("planning: ") + e.what());
      }
    }
  });
  return 0;
}
