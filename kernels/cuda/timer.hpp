#pragma once
// CUDA events around the timed region on the launch stream, optionally holding the stream
// while a batch of launches is queued (timer.cpp; the hold kernel in timer_kernels.cu).
#include <cuda_runtime.h>

#include "kernels/cuda/device.hpp"
#include "rackqual/api/backend.hpp"

namespace rackqual::cuda {

class EventTimer : public Timer {
 public:
  explicit EventTimer(cudaStream_t stream);
  ~EventTimer() override;
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;
  void start(bool hold) override;
  void stop() override;
  double elapsed() override;
  void release() noexcept override;

 private:
  static constexpr unsigned long long hold_timeout_ns = 1'000'000'000ull;
  cudaStream_t stream_;
  int* flags_ = nullptr;          // [0]: release, [1]: the hold timed out (mapped host memory)
  int* device_flags_ = nullptr;
  bool held_ = false;
  Event start_, stop_;
};

}  // namespace rackqual::cuda
