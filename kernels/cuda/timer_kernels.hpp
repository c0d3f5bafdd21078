#pragma once
// The kernel that holds the launch stream while a timed batch is queued (timer_kernels.cu).
#include <cuda_runtime.h>

namespace rackqual::cuda {

// Queues on `stream` one thread that waits until *release is set, or gives up after
// timeout_ns and says so in *timed_out (both in mapped host memory). Unchecked: the caller
// asks cudaGetLastError().
void launch_hold(const volatile int* release, int* timed_out, unsigned long long timeout_ns, cudaStream_t stream);

}  // namespace rackqual::cuda
