// The cuda backend's timer: CUDA events on the launch stream. Holding the stream works as in
// nvbench: a one-thread kernel spins on a flag in mapped host memory until stop() sets it, so
// every launch of the batch is queued before the start event is passed and the GPU runs them
// back to back; the launch latency of small operations is then not measured. What a held batch
// queues is bounded (Op::stream_entries, defaults::held_stream_entries): once the stream's launch
// queue is full the host blocks inside a launch, the hold is never released and times out.
#include "kernels/cuda/timer.hpp"

#include <atomic>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/timer_kernels.hpp"

namespace rackqual::cuda {
EventTimer::EventTimer(cudaStream_t stream) : stream_(stream) {
  RACKQUAL_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&flags_), 2 * sizeof(int), cudaHostAllocMapped));
  RACKQUAL_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&device_flags_), flags_, 0));
}

EventTimer::~EventTimer() {
  release();
  cudaFreeHost(flags_);
}

void EventTimer::start(bool hold) {
  release();   // a start without its stop (the harness releases on every path; this is the last guard)
  if (hold) {
    flags_[0] = 0;
    flags_[1] = 0;
    std::atomic_thread_fence(std::memory_order_seq_cst);
    launch_hold(device_flags_, device_flags_ + 1, hold_timeout_ns, stream_);
    held_ = true;   // set before the check: a launch error after the kernel was queued still releases it
    RACKQUAL_CHECK(cudaGetLastError());
  }
  RACKQUAL_CHECK(cudaEventRecord(start_, stream_));
}

void EventTimer::stop() {
  RACKQUAL_CHECK(cudaEventRecord(stop_, stream_));
  release();
}

double EventTimer::elapsed() {
  RACKQUAL_CHECK(cudaEventSynchronize(stop_));
  if (flags_[1])
    throw Error(
        "timer: the launches of one timed batch took longer than 1 s to queue (a full launch queue blocks the host); "
        "the stream was released early");
  return seconds_between(start_, stop_);
}

// Sets the flag the hold kernel spins on; nothing when the stream is not held.
void EventTimer::release() noexcept {
  if (!held_) return;
  std::atomic_thread_fence(std::memory_order_seq_cst);
  *static_cast<volatile int*>(flags_) = 1;
  held_ = false;
}

std::unique_ptr<Timer> CudaBackend::timer() { return std::make_unique<EventTimer>(stream_); }

}  // namespace rackqual::cuda
