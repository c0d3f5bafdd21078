#pragma once
// The host backend's timer: steady_clock around the timed region.
#include <chrono>

namespace rackqual::host {

template <typename F>
double time_seconds(F&& work) {
  const auto start = std::chrono::steady_clock::now();
  work();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace rackqual::host
