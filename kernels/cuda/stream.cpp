// hbm on a GPU: STREAM kernels over double arrays in device memory, 16-byte (double2) accesses in
// grid-stride loops (stream_kernels.cu), timed with CUDA events; every output element is checked
// on the device.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/common/stream.hpp"
#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/stream_kernels.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual::cuda {
namespace {

class Stream : public Op {
 public:
  Stream(const CudaBackend& gpu, stream::Op op, std::int64_t bytes)
      : stream_(gpu.stream()), op_(op), n_(bytes / static_cast<std::int64_t>(sizeof(double))),
        blocks_(grid_blocks(gpu.properties())), a_(device_array<double>(n_)), b_(device_array<double>(n_)),
        c_(device_array<double>(n_)), sums_(device_array<double>(blocks_)), a_sums_(device_array<double>(blocks_)),
        counters_(device_array<unsigned long long>(2)) {
    launch_stream_fill(blocks_, vec(a_), vec(b_), vec(c_), n_ / 2, a_sums_.get(), stream_);
    RACKQUAL_CHECK(cudaGetLastError());
    RACKQUAL_CHECK(cudaStreamSynchronize(stream_));
  }

  void launch() override { enqueue(); }
  void wait() override { RACKQUAL_CHECK(cudaStreamSynchronize(stream_)); }

  // Every output element against its known answer; `read` against the sum of its input.
  Correctness verify() override {
    char detail[200];
    if (op_ == stream::Op::read) {
      const double sum = total(sums_), want = total(a_sums_);
      const double error = std::fabs(sum - want) / want;
      std::snprintf(detail, sizeof detail, "checksum %.15g, expected %.15g (relative error %.2g)", sum, want, error);
      return {error <= 1e-9, detail};
    }
    RACKQUAL_CHECK(cudaMemsetAsync(counters_.get(), 0, 2 * sizeof(unsigned long long), stream_));
    launch_stream_check(blocks_, op_, output(), n_, counters_.get(), sums_.get(), stream_);
    RACKQUAL_CHECK(cudaGetLastError());
    unsigned long long counters[2];
    to_host(counters, counters_.get(), 2, stream_);
    if (counters[0]) {
      const auto i = static_cast<std::int64_t>(counters[1]);
      double got = 0;
      to_host(&got, output() + i, 1, stream_);
      std::snprintf(detail, sizeof detail, "%llu of %lld elements wrong (element %lld = %.17g, expected %.17g)", counters[0],
                    static_cast<long long>(n_), static_cast<long long>(i), got,
                    stream::expected(op_, stream::initial(0, i), stream::initial(1, i), stream::initial(2, i)));
      return {false, detail};
    }
    std::snprintf(detail, sizeof detail, "all %lld elements as expected; checksum %.15g", static_cast<long long>(n_), total(sums_));
    return {true, detail};
  }

  // Doubles one output element (for `read`, one block's share of the checksum) and adds one.
  void inject_error() override {
    double* target = op_ == stream::Op::read ? sums_.get() : output() + n_ / 2;
    double x = 0;
    to_host(&x, target, 1, stream_);
    x = 2 * x + 1;
    to_device(target, &x, 1, stream_);
  }

 private:
  static double2* vec(const DeviceArray<double>& p) { return reinterpret_cast<double2*>(p.get()); }

  void enqueue() {
    const std::int64_t n = n_ / 2;
    switch (op_) {
      case stream::Op::read: launch_stream_read(blocks_, vec(a_), n, sums_.get(), stream_); break;
      case stream::Op::write: launch_stream_write(blocks_, vec(a_), n, stream_); break;
      case stream::Op::copy: launch_stream_copy(blocks_, vec(a_), vec(c_), n, stream_); break;
      case stream::Op::scale: launch_stream_scale(blocks_, vec(b_), vec(c_), n, stream_); break;
      case stream::Op::add: launch_stream_add(blocks_, vec(a_), vec(b_), vec(c_), n, stream_); break;
      case stream::Op::triad: launch_stream_triad(blocks_, vec(a_), vec(b_), vec(c_), n, stream_); break;
    }
    RACKQUAL_CHECK(cudaGetLastError());
  }

  double* output() const {
    switch (op_) {
      case stream::Op::copy:
      case stream::Op::add: return c_.get();
      case stream::Op::scale: return b_.get();
      default: return a_.get();
    }
  }

  // The blocks' partial sums, added on the host.
  double total(const DeviceArray<double>& sums) const {
    std::vector<double> host(blocks_);
    to_host(host.data(), sums.get(), host.size(), stream_);
    double sum = 0;
    for (double x : host) sum += x;
    return sum;
  }

  cudaStream_t stream_;
  stream::Op op_;
  std::int64_t n_;
  int blocks_;
  DeviceArray<double> a_, b_, c_;
  DeviceArray<double> sums_, a_sums_;   // per block: the last read's (or check's) sum; the sum of a
  DeviceArray<unsigned long long> counters_;
};

// Bytes as a whole number of MiB, rounded up.
std::string mib(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0fMiB", std::ceil(bytes / 0x1.0p20));
  return text;
}

std::unique_ptr<Op> make(const OpContext& ctx) {
  const auto& gpu = dynamic_cast<const CudaBackend&>(ctx.backend);
  const cudaDeviceProp& p = gpu.properties();
  const std::string& name = ctx.params.text("op");
  const stream::Op op = stream::parse_op(name);
  const std::int64_t bytes = ctx.params.integer("bytes");
  if (bytes <= 0 || bytes % 16 != 0) throw SetupError("cuda backend: hbm bytes must be a positive multiple of 16");
  // The arrays a pass touches must dwarf L2, so that it measures HBM and not the cache.
  const double moved = stream::arrays_moved(op), least = 8.0 * p.l2CacheSize;
  if (moved * static_cast<double>(bytes) < least)
    throw SetupError("cuda backend: hbm " + name + " touches " + std::to_string(static_cast<int>(moved)) + " array(s) of " +
                     mib(static_cast<double>(bytes)) + ", under 8x the " + mib(p.l2CacheSize) + " L2 cache of " + p.name +
                     ": use bytes: " + mib(least / moved) + " or more");
  // a, b and c are always allocated; leave room for everything else on the GPU.
  if (3.0 * static_cast<double>(bytes) > 0.8 * static_cast<double>(p.totalGlobalMem))
    throw SetupError("cuda backend: hbm needs 3 arrays of " + mib(static_cast<double>(bytes)) + ", over 80% of the " +
                     mib(static_cast<double>(p.totalGlobalMem)) + " of " + p.name + ": use bytes: " +
                     mib(std::floor(0.8 * static_cast<double>(p.totalGlobalMem) / 3 / 0x1.0p20) * 0x1.0p20) + " or less");
  return std::make_unique<Stream>(gpu, op, bytes);
}

const OpRegistration registration("cuda", "hbm", make);

}  // namespace
}  // namespace rackqual::cuda
