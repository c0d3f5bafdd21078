#pragma once
// The host backend's timer: steady_clock at the marks (host operations run to completion).
#include <chrono>

#include "rackqual/api/backend.hpp"

namespace rackqual::host {

class SteadyTimer : public Timer {
 public:
  void start(bool) override { start_ = std::chrono::steady_clock::now(); }
  void stop() override { stop_ = std::chrono::steady_clock::now(); }
  double elapsed() override { return std::chrono::duration<double>(stop_ - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_, stop_;
};

// Seconds `work` takes: for the phases of a multi-phase operation.
template <typename F>
double time_seconds(F&& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace rackqual::host
