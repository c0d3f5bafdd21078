#pragma once
// The gemm operands' fill kernel (gemm_kernels.cu), for T = double, float, __nv_bfloat16,
// __half and __nv_fp8_e4m3.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace rackqual::cuda {

// x[i] = uniform(seed, i) in [-1, 1) rounded to T: `blocks` blocks of threads_per_block threads,
// queued on `stream`. Unchecked: the caller asks cudaGetLastError().
template <typename T>
void launch_gemm_fill(int blocks, T* x, std::int64_t count, std::uint64_t seed, cudaStream_t stream);

}  // namespace rackqual::cuda
