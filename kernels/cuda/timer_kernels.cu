// The timer's hold kernel (timer.cpp says why the stream is held).
#include "kernels/cuda/timer_kernels.hpp"

namespace rackqual::cuda {
namespace kernel {

__device__ inline unsigned long long global_ns() {
  unsigned long long t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// Waits until *release is set, or gives up after timeout_ns and says so in *timed_out.
__global__ void hold(const volatile int* release, int* timed_out, unsigned long long timeout_ns) {
  const unsigned long long begin = global_ns();
  while (*release == 0) {
    if (global_ns() - begin > timeout_ns) {
      *timed_out = 1;
      return;
    }
    __nanosleep(1000);
  }
}

}  // namespace kernel

void launch_hold(const volatile int* release, int* timed_out, unsigned long long timeout_ns, cudaStream_t stream) {
  kernel::hold<<<1, 1, 0, stream>>>(release, timed_out, timeout_ns);
}

}  // namespace rackqual::cuda
