#pragma once
// The hbm kernels (stream_kernels.cu): grid-stride loops over n double2 vectors (element 2i and
// 2i+1 of an array form vector i), `blocks` blocks of threads_per_block threads, queued on
// `stream`. Unchecked: the caller asks cudaGetLastError().
#include <cuda_runtime.h>

#include <cstdint>

namespace rackqual::stream {
enum class Op;   // kernels/common/stream.hpp
}

namespace rackqual::cuda {

// Random inputs in a, b and c; per block, the sum of a (the checksum `read` must reproduce).
void launch_stream_fill(int blocks, double2* a, double2* b, double2* c, std::int64_t n, double* a_sums, cudaStream_t stream);

// The STREAM operations; `read` writes each block's sum of a to sums[block].
void launch_stream_read(int blocks, const double2* a, std::int64_t n, double* sums, cudaStream_t stream);
void launch_stream_write(int blocks, double2* a, std::int64_t n, cudaStream_t stream);
void launch_stream_copy(int blocks, const double2* a, double2* c, std::int64_t n, cudaStream_t stream);
void launch_stream_scale(int blocks, double2* b, const double2* c, std::int64_t n, cudaStream_t stream);
void launch_stream_add(int blocks, const double2* a, const double2* b, double2* c, std::int64_t n, cudaStream_t stream);
void launch_stream_triad(int blocks, double2* a, const double2* b, const double2* c, std::int64_t n, cudaStream_t stream);

// Over n doubles of `op`'s output: counters[0] += elements off their answer, counters[1] =
// max(bad index); per block, the sum of the outputs.
void launch_stream_check(int blocks, stream::Op op, const double* out, std::int64_t n, unsigned long long* counters,
                         double* sums, cudaStream_t stream);

}  // namespace rackqual::cuda
