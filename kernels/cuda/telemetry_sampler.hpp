#pragma once
// Telemetry during a measurement: a background thread reads the device's clocks, power,
// temperature and clock-event reasons every period while the measurement runs (before and
// after it the GPU is idle and says little), so that throttling in the middle of a GEMM shows.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "kernels/cuda/nvml.hpp"

namespace rackqual::cuda {

class TelemetrySampler {
 public:
  // Starts sampling the device at `pci_bus_id` every `period`; takes no samples when NVML is unavailable.
  TelemetrySampler(const Nvml& nvml, std::string pci_bus_id,
                   std::chrono::milliseconds period = std::chrono::milliseconds(100));
  ~TelemetrySampler();
  TelemetrySampler(const TelemetrySampler&) = delete;
  TelemetrySampler& operator=(const TelemetrySampler&) = delete;

  // Stops the thread and returns the samples, oldest first, each Nvml::sample() with "t_s"
  // (seconds since the start); samples NVML could not take are left out.
  nlohmann::json stop();

 private:
  void loop();

  const Nvml& nvml_;
  std::string bus_;
  std::chrono::milliseconds period_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  nlohmann::json samples_ = nlohmann::json::array();
  std::thread thread_;
};

}  // namespace rackqual::cuda
