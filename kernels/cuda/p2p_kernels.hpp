#pragma once
// The p2p kernels (p2p_kernels.cu): grid-stride loops over the bytes group rank `sender` sends,
// `blocks` blocks of threads_per_block threads, queued on `stream`. Unchecked: the caller asks
// cudaGetLastError().
#include <cuda_runtime.h>

#include <cstdint>

namespace rackqual::cuda {

// What group rank `sender` sends, written to out.
void launch_p2p_fill(int blocks, unsigned char* out, std::int64_t bytes, int sender, cudaStream_t stream);

// counters[0] += bytes of `got` that differ from what group rank `sender` sends; counters[1] = min(their index).
void launch_p2p_check(int blocks, const unsigned char* got, std::int64_t bytes, int sender, unsigned long long* counters,
                      cudaStream_t stream);

}  // namespace rackqual::cuda
