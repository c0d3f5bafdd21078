// (being written) NVML loader.
#include "kernels/cuda/nvml.hpp"

namespace rackqual::cuda {
struct Nvml::Api {};
Nvml::Nvml(const std::string&) : why_("NVML loader not written yet") {}
Nvml::~Nvml() = default;
bool Nvml::available() const { return false; }
const std::string& Nvml::why() const { return why_; }
std::string Nvml::driver_version() const { return ""; }
nlohmann::json Nvml::snapshot(const std::string&) const { return {{"available", false}, {"why", why_}}; }
nlohmann::json summarize_window(const nlohmann::json& before, const nlohmann::json& after, double) {
  return {{"before", before}, {"after", after}};
}
}  // namespace rackqual::cuda
