#pragma once
// NVML, the driver's management library, loaded at run time with dlopen: the build needs
// no driver, and a machine without one reports telemetry as unavailable instead of failing.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace rackqual::cuda {

// A GPU's registration with a multi-node NVLink fabric (GB200/GB300 NVL72): the GPUs of one
// NVLink domain share a cluster UUID and a clique id.
struct GpuFabric {
  std::string state;          // not_supported, not_started, in_progress, completed
  bool registered = false;    // completed, and without an error
  std::string status;         // NVML's error text when completed with an error; else empty
  std::string cluster_uuid;   // 8-4-4-4-12 hex
  unsigned clique_id = 0;
  // The fabric's health where the driver gives it: the NVML_GPU_FABRIC_HEALTH_MASK_* bits (from
  // nvmlGpuFabricInfo_v2) and NVML's summary (v3: healthy, unhealthy, limited_capacity; empty
  // where not given or not supported).
  std::optional<unsigned> health_mask;
  std::string health_summary;
  // "<cluster uuid>/<clique id>" once registered with a cluster UUID other than zeros (a
  // single-node NVSwitch system such as HGX H100 registers with zeros: no multi-node domain).
  std::optional<std::string> domain() const;
  // The health mask decoded: {degraded_bw, route_recovery, route_unhealthy, access_timeout_recovery}
  // (true, false, or null where not supported) and incorrect_configuration (none, incorrect_sysguid,
  // incorrect_chassis_sn, no_partition, insufficient_nvlinks, incompatible_gpu_fw, invalid_location;
  // null where not supported); null without a mask.
  nlohmann::json health() const;
  // Every field above, with "domain" (null without one) and "health".
  nlohmann::json to_json() const;
};

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
  // the cumulative violation times of each performance policy (power, thermal, sync_boost,
  // board_limit, low_utilization, reliability; ns; field values, else nvmlDeviceGetViolationStatus)
  // and the NVLink fabric (GpuFabric::to_json). Fields the device cannot report are null.
  // When NVML is unavailable: {"available": false, "why": ...}.
  nlohmann::json snapshot(const std::string& pci_bus_id) const;

  // The few readings a sampling thread takes while a measurement runs, cheap enough for every
  // 100 ms: {"sm_mhz", "power_w", "temperature_c", "clock_event_mask"} (null where the device
  // cannot report one); {"available": false, "why"} when NVML or the device is unavailable.
  nlohmann::json sample(const std::string& pci_bus_id) const;

  // The device's NVLink fabric registration (nvmlDeviceGetGpuFabricInfoV with the v3, else the v2
  // struct, else the older nvmlDeviceGetGpuFabricInfo); nothing when NVML, the device or every call
  // is unavailable.
  std::optional<GpuFabric> gpu_fabric(const std::string& pci_bus_id) const;

 private:
  struct Api;
  std::unique_ptr<Api> api_;
  std::string why_;
};

// What two snapshots taken `seconds` apart, and the samples taken between them, say about the window:
// {"before", "after", "seconds", "energy_j", "avg_power_w", "throttled", "throttle_reasons",
//  "samples" (how many), "sm_clock_mhz", "power_w", "temperature_c" ({min, median, max} of the
//  samples, null without any), "violation_s" (seconds each performance policy held the clocks
//  down during the window: power, thermal, sync_boost, board_limit, low_utilization, reliability;
//  null where the driver does not count it)}.
// Throttled means the clocks were held down by heat or the hardware: thermal violation time
// during the window, a hardware or thermal clock-event reason (hw_slowdown, sw_thermal_slowdown,
// hw_thermal_slowdown, hw_power_brake_slowdown) in any sample or the closing snapshot, or a busy
// SM clock (the median of the samples, else the closing reading) under 75% of its default clock
// (nvbench's rule). Running at the power cap alone (sw_power_cap, power violation time) is how a
// GPU under full load is meant to run, and is not throttling: a reading whose only clock-event
// reason is sw_power_cap (or that is idle) is left out of the clock rule.
// {"available": false, "why", "throttled": false} when either snapshot is unavailable.
nlohmann::json summarize_window(const nlohmann::json& before, const nlohmann::json& after, double seconds,
                                const nlohmann::json& samples = nlohmann::json::array());

}  // namespace rackqual::cuda
