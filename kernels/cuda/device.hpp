#pragma once
// Device arrays and CUDA events that release themselves, copies that wait for the backend's
// stream, and the grid every grid-stride kernel uses (grid.hpp).
#include <cuda_runtime.h>

#include <cstddef>
#include <memory>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/grid.hpp"

namespace rackqual::cuda {

// Destructors cannot throw: release calls are the only ones left unchecked.
struct DeviceFree {
  void operator()(void* p) const { cudaFree(p); }
};

template <typename T>
using DeviceArray = std::unique_ptr<T[], DeviceFree>;

template <typename T>
DeviceArray<T> device_array(std::size_t count) {
  void* p = nullptr;
  RACKQUAL_CHECK(cudaMalloc(&p, count * sizeof(T)));
  return DeviceArray<T>(static_cast<T*>(p));
}

// Copies on `stream` (ordered after the kernels there) and waits for them.
template <typename T>
void to_host(T* host, const T* device, std::size_t count, cudaStream_t stream) {
  RACKQUAL_CHECK(cudaMemcpyAsync(host, device, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
  RACKQUAL_CHECK(cudaStreamSynchronize(stream));
}
template <typename T>
void to_device(T* device, const T* host, std::size_t count, cudaStream_t stream) {
  RACKQUAL_CHECK(cudaMemcpyAsync(device, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
  RACKQUAL_CHECK(cudaStreamSynchronize(stream));
}

class Event {
 public:
  Event() { RACKQUAL_CHECK(cudaEventCreate(&event_)); }
  ~Event() { cudaEventDestroy(event_); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  operator cudaEvent_t() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

// GPU time between two recorded events, in seconds.
inline double seconds_between(cudaEvent_t start, cudaEvent_t stop) {
  float ms = 0;
  RACKQUAL_CHECK(cudaEventElapsedTime(&ms, start, stop));
  return ms * 1e-3;
}

}  // namespace rackqual::cuda
