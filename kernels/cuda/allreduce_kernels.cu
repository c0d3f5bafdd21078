// The all-reduce kernels: each rank's inputs written, and every output element checked against
// the sum of every rank's inputs, on the device.
#include "kernels/cuda/allreduce_kernels.hpp"

#include "kernels/common/collective.hpp"
#include "kernels/cuda/grid.hpp"

namespace rackqual::cuda {
namespace {
namespace kernel {

// This rank's inputs, converted to T (to the nearest, ties to even).
template <typename T>
__global__ void fill(T* x, std::int64_t n, int rank) {
  for (std::int64_t i = first_index(); i < n; i += grid_size()) x[i] = static_cast<T>(collective::input(rank, i));
}

// counters[0] += elements off the sum of every rank's rounded inputs by more than `tolerance`
// (relative); counters[1] = max(bad index).
template <typename T>
__global__ void check(const T* out, std::int64_t n, int ranks, double tolerance, unsigned long long* counters) {
  unsigned long long wrong = 0;
  for (std::int64_t i = first_index(); i < n; i += grid_size()) {
    const double want = collective::expected_sum(ranks, i, Digits<T>::value);
    if (!(fabs(to_double(out[i]) - want) <= tolerance * want)) {
      ++wrong;
      atomicMax(&counters[1], static_cast<unsigned long long>(i));
    }
  }
  if (wrong) atomicAdd(&counters[0], wrong);
}

}  // namespace kernel
}  // namespace

template <typename T>
void launch_allreduce_fill(int blocks, T* x, std::int64_t n, int rank, cudaStream_t stream) {
  kernel::fill<<<blocks, threads_per_block, 0, stream>>>(x, n, rank);
}

template <typename T>
void launch_allreduce_check(int blocks, const T* out, std::int64_t n, int ranks, double tolerance,
                            unsigned long long* counters, cudaStream_t stream) {
  kernel::check<<<blocks, threads_per_block, 0, stream>>>(out, n, ranks, tolerance, counters);
}

// The element types the all-reduce registers.
template void launch_allreduce_fill<double>(int, double*, std::int64_t, int, cudaStream_t);
template void launch_allreduce_fill<float>(int, float*, std::int64_t, int, cudaStream_t);
template void launch_allreduce_fill<__nv_bfloat16>(int, __nv_bfloat16*, std::int64_t, int, cudaStream_t);
template void launch_allreduce_fill<__half>(int, __half*, std::int64_t, int, cudaStream_t);
template void launch_allreduce_check<double>(int, const double*, std::int64_t, int, double, unsigned long long*, cudaStream_t);
template void launch_allreduce_check<float>(int, const float*, std::int64_t, int, double, unsigned long long*, cudaStream_t);
template void launch_allreduce_check<__nv_bfloat16>(int, const __nv_bfloat16*, std::int64_t, int, double, unsigned long long*,
                                                    cudaStream_t);
template void launch_allreduce_check<__half>(int, const __half*, std::int64_t, int, double, unsigned long long*, cudaStream_t);

}  // namespace rackqual::cuda
