// The gemm operands' fill kernel: the same random values on every device and run, rounded to
// the element type by CUDA's own conversions.
#include "kernels/cuda/gemm_kernels.hpp"

#include <type_traits>

#include "kernels/common/random.hpp"
#include "kernels/cuda/grid.hpp"

namespace rackqual::cuda {
namespace {

// A double rounded to the element type to nearest, by CUDA's own conversions.
template <typename T>
__device__ T element(double x) {
  if constexpr (std::is_same_v<T, double>) return x;
  else if constexpr (std::is_same_v<T, float>) return static_cast<float>(x);
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return __float2bfloat16_rn(static_cast<float>(x));
  else if constexpr (std::is_same_v<T, __half>) return __float2half_rn(static_cast<float>(x));
  else return __nv_fp8_e4m3(static_cast<float>(x));
}

// x[i] = uniform(seed, i) in [-1, 1): the same values on every device and run.
template <typename T>
__global__ void fill_kernel(T* x, std::int64_t count, std::uint64_t seed) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    x[i] = element<T>(random::uniform(seed, static_cast<std::uint64_t>(i), -1.0, 1.0));
}

}  // namespace

template <typename T>
void launch_gemm_fill(int blocks, T* x, std::int64_t count, std::uint64_t seed, cudaStream_t stream) {
  fill_kernel<T><<<blocks, threads_per_block, 0, stream>>>(x, count, seed);
}

// The element types gemm reads and writes.
template void launch_gemm_fill<double>(int, double*, std::int64_t, std::uint64_t, cudaStream_t);
template void launch_gemm_fill<float>(int, float*, std::int64_t, std::uint64_t, cudaStream_t);
template void launch_gemm_fill<__nv_bfloat16>(int, __nv_bfloat16*, std::int64_t, std::uint64_t, cudaStream_t);
template void launch_gemm_fill<__half>(int, __half*, std::int64_t, std::uint64_t, cudaStream_t);
template void launch_gemm_fill<__nv_fp8_e4m3>(int, __nv_fp8_e4m3*, std::int64_t, std::uint64_t, cudaStream_t);

}  // namespace rackqual::cuda
