// Whether this build's CUDA code runs on a device of a given compute capability.
#include "kernels/cuda/cuda_arch.hpp"

#include <cctype>
#include <vector>

namespace rackqual::cuda {
namespace {

// One CMAKE_CUDA_ARCHITECTURES entry: "90a-real" -> {90, "a", machine code, no PTX}.
struct Architecture {
  int number = 0;        // 10 * major + minor
  std::string variant;   // "", "a" or "f"
  bool real = true;      // machine code (SASS)
  bool virtual_ = true;  // PTX
};

std::optional<Architecture> parse(const std::string& entry) {
  std::size_t i = 0;
  while (i < entry.size() && std::isdigit(static_cast<unsigned char>(entry[i]))) ++i;
  if (i == 0 || i > 4) return std::nullopt;
  Architecture a;
  a.number = std::stoi(entry.substr(0, i));
  if (i < entry.size() && (entry[i] == 'a' || entry[i] == 'f')) a.variant = entry.substr(i++, 1);
  const std::string suffix = entry.substr(i);
  if (suffix == "-real") a.virtual_ = false;
  else if (suffix == "-virtual") a.real = false;
  else if (!suffix.empty()) return std::nullopt;
  return a;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::string item;
  for (char c : list + ";") {
    if (c == ';' || c == ',' || c == ' ') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else {
      item += c;
    }
  }
  return out;
}

// Whether code for `a` runs on a device of capability `device` (10 * major + minor): "a" code
// only on its own capability, "f" code and machine code on later minors of its major, plain PTX
// on any later device.
bool runs_on(const Architecture& a, int device) {
  const bool same_major = a.number / 10 == device / 10;
  if (a.variant == "a") return a.number == device;
  if (a.variant == "f" || a.real) {
    if (same_major && a.number <= device) return true;
  }
  return a.virtual_ && a.variant.empty() && a.number <= device;
}

// "sm_90 and sm_100", "sm_90, sm_100 and sm_120".
std::string names(const std::vector<Architecture>& architectures) {
  std::vector<std::string> unique;
  for (const auto& a : architectures) {
    const std::string name = "sm_" + std::to_string(a.number) + a.variant;
    bool seen = false;
    for (const auto& u : unique) seen |= u == name;
    if (!seen) unique.push_back(name);
  }
  std::string text;
  for (std::size_t i = 0; i < unique.size(); ++i)
    text += (i == 0 ? "" : i + 1 == unique.size() ? " and " : ", ") + unique[i];
  return text;
}

}  // namespace

// Why the device cannot run this build's code, or nothing when it can.
std::optional<std::string> unsupported_architecture(const std::string& device_name, int major, int minor,
                                                    const std::string& architectures) {
  std::vector<Architecture> built;
  for (const auto& entry : split(architectures)) {
    const auto a = parse(entry);
    if (!a) return std::nullopt;
    built.push_back(*a);
  }
  if (built.empty()) return std::nullopt;
  const int device = 10 * major + minor;
  for (const auto& a : built)
    if (runs_on(a, device)) return std::nullopt;
  return "cuda backend: " + device_name + " is compute capability " + std::to_string(major) + "." +
         std::to_string(minor) + "; this build has code for " + names(built) +
         " (rebuild with CMAKE_CUDA_ARCHITECTURES=" + std::to_string(device) + ")";
}

}  // namespace rackqual::cuda
