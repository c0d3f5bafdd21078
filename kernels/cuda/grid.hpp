#pragma once
// The grid every grid-stride kernel uses: the cuda backend's kernels and the operations that
// launch them both include this (no harness or library header).
#include <cuda_runtime.h>

#include <cstdint>

namespace rackqual::cuda {

// Grid-stride kernels run 4 blocks of 256 threads per SM: all resident at once (up to 64
// registers a thread), so there is no tail wave, and enough loads in flight to saturate HBM.
inline constexpr int threads_per_block = 256;
inline int grid_blocks(const cudaDeviceProp& p) { return 4 * p.multiProcessorCount; }

#if defined(__CUDACC__)
// A grid-stride loop: for (i = first_index(); i < n; i += grid_size()).
__device__ inline std::int64_t first_index() { return std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x; }
__device__ inline std::int64_t grid_size() { return std::int64_t{gridDim.x} * blockDim.x; }
#endif

}  // namespace rackqual::cuda
