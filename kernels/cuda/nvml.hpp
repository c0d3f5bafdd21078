#pragma once
// NVML, the driver's management library, loaded at run time with dlopen: the build needs
// no driver, and a machine without one reports telemetry as unavailable instead of failing.
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace rackqual::cuda {

class Nvml {
 public:
  // Opens `library` and initialises NVML; when either fails, available() is false and why() says why.
  explicit Nvml(const std::string& library = "libnvidia-ml.so.1");
  ~Nvml();
  Nvml(const Nvml&) = delete;
  Nvml& operator=(const Nvml&) = delete;

  bool available() const;
  const std::string& why() const;
  std::string driver_version() const;   // empty when unavailable

  // The state of one device, found by its PCI bus id ("0000:18:00.0", as CUDA reports it):
  // name, uuid, serial, vbios, clocks, clock-event (throttle) reasons, temperature, power,
  // energy counter, ECC errors, remapped rows, PCIe link (current and maximum), NVLink state,
  // and the cumulative power/thermal violation times. Fields the device cannot report are null.
  // When NVML is unavailable: {"available": false, "why": ...}.
  nlohmann::json snapshot(const std::string& pci_bus_id) const;

 private:
  struct Api;
  std::unique_ptr<Api> api_;
  std::string why_;
};

// What two snapshots taken `seconds` apart say about the window between them:
// {"before", "after", "seconds", "energy_j", "avg_power_w", "throttled", "throttle_reasons"};
// {"available": false, "why", "throttled": false} when either snapshot is unavailable.
nlohmann::json summarize_window(const nlohmann::json& before, const nlohmann::json& after, double seconds);

}  // namespace rackqual::cuda
