#include "rackqual/plan/memory_fit.hpp"

#include <cstdio>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

std::string gib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", bytes / 0x1.0p30);
  return text;
}

}  // namespace

void check_memory(const PreparedSuite& suite, const DeviceInfo& device, int ranks_sharing) {
  if (!(device.memory_bytes > 0)) return;
  const int sharing = device.memory_shared && ranks_sharing > 1 ? ranks_sharing : 1;
  for (const CheckPlan& plan : suite.plans) {
    const Check& check = *plan.check;
    std::optional<MemoryNeed> most;   // the point that needs the most
    for (const PointPlan& point : plan.points) {
      const auto need = check.kind->memory(point.params);
      if (need && (!most || need->bytes > most->bytes)) most = need;
    }
    if (!most || most->bytes * sharing <= device.memory_bytes) continue;
    const auto line = check.param_lines.find(most->param);
    std::string message = check.id + " needs " + gib(most->bytes) + " GiB per ";
    if (device.memory_shared)
      message += "rank" + (sharing > 1 ? " (" + gib(most->bytes * sharing) + " GiB for the " + std::to_string(sharing) +
                                             " ranks of this host)" : std::string()) +
                 ", the host has " + gib(device.memory_bytes) + " GiB";
    else
      message += "GPU, the device has " + gib(device.memory_bytes) + " GiB";
    throw InputError(suite.suite->path, line == check.param_lines.end() ? check.line : line->second,
                     "checks[" + check.id + "].params." + most->param, message);
  }
}

}  // namespace rackqual
