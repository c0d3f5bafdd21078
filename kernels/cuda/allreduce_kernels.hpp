#pragma once
// The all-reduce kernels (allreduce_kernels.cu), for T = double, float, __nv_bfloat16 and
// __half: grid-stride loops, `blocks` blocks of threads_per_block threads, queued on `stream`.
// Unchecked: the caller asks cudaGetLastError().
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <type_traits>

#include "kernels/common/hd.hpp"

namespace rackqual::cuda {

// Each element type's precision in significant bits (unit roundoff 2^-digits).
template <typename T>
struct Digits;
template <>
struct Digits<double> {
  static constexpr int value = 53;
};
template <>
struct Digits<float> {
  static constexpr int value = 24;
};
template <>
struct Digits<__nv_bfloat16> {
  static constexpr int value = 8;
};
template <>
struct Digits<__half> {
  static constexpr int value = 11;
};

// Exact for every type: fp16 and bf16 values are floats.
template <typename T>
RACKQUAL_HD double to_double(T x) {
  if constexpr (std::is_floating_point_v<T>) return x;
  else return static_cast<float>(x);
}

// This rank's inputs, converted to T (to the nearest, ties to even).
template <typename T>
void launch_allreduce_fill(int blocks, T* x, std::int64_t n, int rank, cudaStream_t stream);

// counters[0] += elements off the sum of every rank's rounded inputs by more than `tolerance`
// (relative); counters[1] = max(bad index).
template <typename T>
void launch_allreduce_check(int blocks, const T* out, std::int64_t n, int ranks, double tolerance,
                            unsigned long long* counters, cudaStream_t stream);

}  // namespace rackqual::cuda
