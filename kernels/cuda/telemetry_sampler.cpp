// A thread that samples one device's telemetry at a fixed period until stopped.
#include "kernels/cuda/telemetry_sampler.hpp"

#include <utility>

namespace rackqual::cuda {

// Starts the sampling thread (none when NVML is unavailable).
TelemetrySampler::TelemetrySampler(const Nvml& nvml, std::string pci_bus_id, std::chrono::milliseconds period)
    : nvml_(nvml), bus_(std::move(pci_bus_id)), period_(period), start_(std::chrono::steady_clock::now()) {
  if (nvml_.available()) thread_ = std::thread([this] { loop(); });
}

// Stops the thread if stop() was not called (an exception during the measurement).
TelemetrySampler::~TelemetrySampler() { stop(); }

// Ends sampling and hands over what was sampled.
nlohmann::json TelemetrySampler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  return std::exchange(samples_, nlohmann::json::array());
}

// One sample every period, on a fixed schedule, until stop() wakes it.
void TelemetrySampler::loop() {
  auto next = start_ + period_;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_until(lock, next, [this] { return stopping_; })) {
    lock.unlock();
    nlohmann::json sample = nvml_.sample(bus_);
    const auto now = std::chrono::steady_clock::now();
    lock.lock();
    if (sample.value("available", true)) {
      sample["t_s"] = std::chrono::duration<double>(now - start_).count();
      samples_.push_back(std::move(sample));
    }
    next += period_;
    if (next < now) next = now + period_;  // a slow read: skip the missed ticks rather than burst
  }
}

}  // namespace rackqual::cuda
