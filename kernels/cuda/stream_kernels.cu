// The hbm kernels: STREAM over double2 vectors, 16-byte accesses in grid-stride loops; the check
// computes every output element's answer on the device.
#include "kernels/cuda/stream_kernels.hpp"

#include <cub/block/block_reduce.cuh>

#include "kernels/common/stream.hpp"
#include "kernels/cuda/grid.hpp"

namespace rackqual::cuda {
namespace {

constexpr int threads = threads_per_block;
// A few ulps: a kernel and the check may contract b + q*c into an FMA differently.
constexpr double tolerance = 4 * 0x1.0p-52;

__device__ double2 operator+(double2 x, double2 y) { return {x.x + y.x, x.y + y.y}; }
__device__ double2 operator*(double q, double2 x) { return {q * x.x, q * x.y}; }

// Writes the block's total of one value per thread to sums[blockIdx.x].
__device__ void block_sum(double value, double* sums) {
  using BlockSum = cub::BlockReduce<double, threads>;
  __shared__ BlockSum::TempStorage scratch;
  const double total = BlockSum(scratch).Sum(value);
  if (threadIdx.x == 0) sums[blockIdx.x] = total;
}

namespace kernel {

// n counts double2 vectors; element 2i and 2i+1 of an array form vector i.
__device__ double2 initial_vector(int array, std::int64_t i) {
  return {stream::initial(array, 2 * i), stream::initial(array, 2 * i + 1)};
}

// Random inputs in a, b and c; per block, the sum of a (the checksum `read` must reproduce).
__global__ void fill(double2* a, double2* b, double2* c, std::int64_t n, double* a_sums) {
  double sum = 0;
  for (std::int64_t i = first_index(); i < n; i += grid_size()) {
    const double2 x = initial_vector(0, i);
    a[i] = x;
    b[i] = initial_vector(1, i);
    c[i] = initial_vector(2, i);
    sum += x.x + x.y;
  }
  block_sum(sum, a_sums);
}

__global__ void read(const double2* __restrict__ a, std::int64_t n, double* sums) {
  double sum = 0;
  for (std::int64_t i = first_index(); i < n; i += grid_size()) {
    const double2 x = a[i];
    sum += x.x + x.y;
  }
  block_sum(sum, sums);
}

__global__ void write(double2* __restrict__ a, std::int64_t n) {
  for (std::int64_t i = first_index(); i < n; i += grid_size()) a[i] = {stream::written, stream::written};
}

__global__ void copy(const double2* __restrict__ a, double2* __restrict__ c, std::int64_t n) {
  for (std::int64_t i = first_index(); i < n; i += grid_size()) c[i] = a[i];
}

__global__ void scale(double2* __restrict__ b, const double2* __restrict__ c, std::int64_t n) {
  for (std::int64_t i = first_index(); i < n; i += grid_size()) b[i] = stream::scalar * c[i];
}

__global__ void add(const double2* __restrict__ a, const double2* __restrict__ b, double2* __restrict__ c, std::int64_t n) {
  for (std::int64_t i = first_index(); i < n; i += grid_size()) c[i] = a[i] + b[i];
}

__global__ void triad(double2* __restrict__ a, const double2* __restrict__ b, const double2* __restrict__ c, std::int64_t n) {
  for (std::int64_t i = first_index(); i < n; i += grid_size()) a[i] = b[i] + stream::scalar * c[i];
}

// Over n doubles: counters[0] += elements off their answer (computed from the initial inputs),
// counters[1] = max(bad index); per block, the sum of the outputs.
__global__ void check(stream::Op op, const double* out, std::int64_t n, unsigned long long* counters, double* sums) {
  unsigned long long wrong = 0;
  double sum = 0;
  for (std::int64_t i = first_index(); i < n; i += grid_size()) {
    const double want = stream::expected(op, stream::initial(0, i), stream::initial(1, i), stream::initial(2, i));
    sum += out[i];
    if (!(fabs(out[i] - want) <= tolerance * fabs(want))) {
      ++wrong;
      atomicMax(&counters[1], static_cast<unsigned long long>(i));
    }
  }
  if (wrong) atomicAdd(&counters[0], wrong);
  block_sum(sum, sums);
}

}  // namespace kernel
}  // namespace

void launch_stream_fill(int blocks, double2* a, double2* b, double2* c, std::int64_t n, double* a_sums, cudaStream_t stream) {
  kernel::fill<<<blocks, threads, 0, stream>>>(a, b, c, n, a_sums);
}

void launch_stream_read(int blocks, const double2* a, std::int64_t n, double* sums, cudaStream_t stream) {
  kernel::read<<<blocks, threads, 0, stream>>>(a, n, sums);
}

void launch_stream_write(int blocks, double2* a, std::int64_t n, cudaStream_t stream) {
  kernel::write<<<blocks, threads, 0, stream>>>(a, n);
}

void launch_stream_copy(int blocks, const double2* a, double2* c, std::int64_t n, cudaStream_t stream) {
  kernel::copy<<<blocks, threads, 0, stream>>>(a, c, n);
}

void launch_stream_scale(int blocks, double2* b, const double2* c, std::int64_t n, cudaStream_t stream) {
  kernel::scale<<<blocks, threads, 0, stream>>>(b, c, n);
}

void launch_stream_add(int blocks, const double2* a, const double2* b, double2* c, std::int64_t n, cudaStream_t stream) {
  kernel::add<<<blocks, threads, 0, stream>>>(a, b, c, n);
}

void launch_stream_triad(int blocks, double2* a, const double2* b, const double2* c, std::int64_t n, cudaStream_t stream) {
  kernel::triad<<<blocks, threads, 0, stream>>>(a, b, c, n);
}

void launch_stream_check(int blocks, stream::Op op, const double* out, std::int64_t n, unsigned long long* counters,
                         double* sums, cudaStream_t stream) {
  kernel::check<<<blocks, threads, 0, stream>>>(op, out, n, counters, sums);
}

}  // namespace rackqual::cuda
