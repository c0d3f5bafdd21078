// allreduce on GPUs: NCCL sum across the ranks of the check's group, one rank per GPU, timed with
// CUDA events. A rank that sees NCCL fail, or waits past the deadline, aborts the communicator
// rather than hang; every output element is checked on the device (allreduce_kernels.cu).
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "kernels/common/collective.hpp"
#include "kernels/cuda/allreduce_kernels.hpp"
#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/nccl_wait.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual::cuda {
namespace {

// Each element type's NCCL type (its precision: allreduce_kernels.hpp).
template <typename T>
struct Type;
template <>
struct Type<double> {
  static constexpr ncclDataType_t nccl = ncclFloat64;
};
template <>
struct Type<float> {
  static constexpr ncclDataType_t nccl = ncclFloat32;
};
template <>
struct Type<__nv_bfloat16> {
  static constexpr ncclDataType_t nccl = ncclBfloat16;
};
template <>
struct Type<__half> {
  static constexpr ncclDataType_t nccl = ncclFloat16;
};

template <typename T>
class Allreduce : public Op {
 public:
  Allreduce(const OpContext& ctx, std::int64_t bytes, bool in_place)
      : gpu_(dynamic_cast<CudaBackend&>(ctx.backend)), group_(ctx.group), comm_(gpu_.nccl(group_, ctx.deadline)), stream_(gpu_.stream()),
        ranks_(group_.size()), count_(bytes / static_cast<std::int64_t>(sizeof(T))), in_place_(in_place), deadline_(ctx.deadline),
        blocks_(grid_blocks(gpu_.properties())), send_(device_array<T>(count_)),
        recv_(in_place ? nullptr : device_array<T>(count_)), counters_(device_array<unsigned long long>(2)) {
    launch_allreduce_fill<T>(blocks_, send_.get(), count_, group_.rank(), stream_);
    RACKQUAL_CHECK(cudaGetLastError());
    // NaN (all bits set) until the all-reduce writes it.
    if (!in_place_) RACKQUAL_CHECK(cudaMemsetAsync(recv_.get(), 0xff, count_ * sizeof(T), stream_));
    RACKQUAL_CHECK(cudaStreamSynchronize(stream_));
  }

  void launch() override {
    RACKQUAL_CHECK(ncclAllReduce(send_.get(), result(), count_, Type<T>::nccl, ncclSum, comm_, stream_));
  }

  // One NCCL kernel, which NCCL 2.28 brackets on the launch stream with a wait for its internal
  // stream and an event record (enqueue.cc, ncclLaunchPrepare / ncclLaunchFinish).
  int stream_entries() const override { return 3; }

  // Waits for every all-reduce so far without blocking forever (nccl_wait.hpp).
  void wait() override {
    RACKQUAL_CHECK(cudaEventRecord(done_, stream_));
    wait_or_abort(done_, comm_, gpu_, group_, deadline_, "NCCL all-reduce");
  }

  // Every element against the sum of every rank's inputs as stored in T (valid after the first
  // run), within the rounding of ranks-1 additions in T.
  Correctness verify() override {
    const double tolerance = collective::sum_tolerance(ranks_, std::ldexp(1.0, -Digits<T>::value));
    RACKQUAL_CHECK(cudaMemsetAsync(counters_.get(), 0, 2 * sizeof(unsigned long long), stream_));
    launch_allreduce_check<T>(blocks_, result(), count_, ranks_, tolerance, counters_.get(), stream_);
    RACKQUAL_CHECK(cudaGetLastError());
    unsigned long long counters[2];
    to_host(counters, counters_.get(), 2, stream_);
    char detail[200];
    if (counters[0]) {
      const auto i = static_cast<std::int64_t>(counters[1]);
      T got;
      to_host(&got, result() + i, 1, stream_);
      std::snprintf(detail, sizeof detail, "%llu of %lld elements wrong (element %lld = %.9g, expected %.9g)", counters[0],
                    static_cast<long long>(count_), static_cast<long long>(i), to_double(got),
                    collective::expected_sum(ranks_, i, Digits<T>::value));
      return {false, detail};
    }
    std::snprintf(detail, sizeof detail, "all %lld elements equal the sum over %d ranks", static_cast<long long>(count_), ranks_);
    return {true, detail};
  }

  void inject_error() override {
    T* target = result() + count_ / 2;
    T x;
    to_host(&x, target, 1, stream_);
    x = static_cast<T>(2 * to_double(x));
    to_device(target, &x, 1, stream_);
  }

 private:
  T* result() const { return in_place_ ? send_.get() : recv_.get(); }


  CudaBackend& gpu_;
  const Group& group_;
  ncclComm_t comm_;
  cudaStream_t stream_;
  int ranks_;
  std::int64_t count_;
  bool in_place_;
  double deadline_;
  int blocks_;
  DeviceArray<T> send_, recv_;
  DeviceArray<unsigned long long> counters_;
  Event done_;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  const auto& p = ctx.params.typed<AllreduceParams>();
  switch (p.dtype) {
    case DType::fp64: return std::make_unique<Allreduce<double>>(ctx, p.bytes, p.in_place);
    case DType::fp32: return std::make_unique<Allreduce<float>>(ctx, p.bytes, p.in_place);
    case DType::bf16: return std::make_unique<Allreduce<__nv_bfloat16>>(ctx, p.bytes, p.in_place);
    case DType::fp16: return std::make_unique<Allreduce<__half>>(ctx, p.bytes, p.in_place);
    default: throw SetupError("cuda backend: allreduce dtype " + std::string(to_string(p.dtype)) + " is not supported");
  }
}

const OpRegistration registration("cuda", "allreduce", make, {{"dtype", {"fp64", "fp32", "bf16", "fp16"}}});

}  // namespace
}  // namespace rackqual::cuda
