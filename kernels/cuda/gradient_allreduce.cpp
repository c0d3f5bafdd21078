#include "kernels/cuda/gradient_allreduce.hpp"

#include <stdexcept>
#include <string>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/nccl_wait.hpp"
#include "kernels/model/group_hashes.hpp"

namespace rackqual::cuda {

GradientAllreduce::GradientAllreduce(CudaBackend& backend, const Group& group, cudaStream_t stream, double deadline)
    : backend_(backend), group_(group), stream_(stream), deadline_(deadline), comm_(backend.nccl(group, deadline)) {
  RACKQUAL_CHECK(cudaStreamCreateWithFlags(&comm_stream_, cudaStreamNonBlocking));
}

GradientAllreduce::~GradientAllreduce() { cudaStreamDestroy(comm_stream_); }

void GradientAllreduce::start(std::size_t bucket, model::View gradients) {
  if (!comm_) throw std::runtime_error("gradient all-reduce: the communicator was aborted by an earlier failure");
  ncclDataType_t type = ncclFloat32;
  if (gradients.type == DType::bf16) type = ncclBfloat16;
  else if (gradients.type != DType::fp32)
    throw std::invalid_argument(std::string("cuda backend: gradients are all-reduced in fp32 or bf16, not ") +
                                std::string(to_string(gradients.type)));
  while (ready_.size() <= bucket) ready_.push_back(std::make_unique<Event>());
  const Event& ready = *ready_[bucket];
  RACKQUAL_CHECK(cudaEventRecord(ready, stream_));
  RACKQUAL_CHECK(cudaStreamWaitEvent(comm_stream_, ready, 0));
  RACKQUAL_CHECK(ncclAllReduce(gradients.data, gradients.data, static_cast<std::size_t>(gradients.count), type, ncclSum,
                               comm_, comm_stream_));
}

void GradientAllreduce::join() {
  RACKQUAL_CHECK(cudaEventRecord(reduced_, comm_stream_));
  RACKQUAL_CHECK(cudaStreamWaitEvent(stream_, reduced_, 0));
}

// Without blocking forever on a peer that never arrives (nccl_wait.hpp).
void GradientAllreduce::wait() {
  RACKQUAL_CHECK(cudaEventRecord(done_, stream_));
  if (!comm_) throw std::runtime_error("gradient all-reduce: the communicator was aborted by an earlier failure");
  wait_or_abort(done_, comm_, backend_, group_, deadline_, "training step with its gradient all-reduce");
}

std::vector<std::uint64_t> GradientAllreduce::all_gather(std::uint64_t value) { return model::gather_hashes(group_, value); }

}  // namespace rackqual::cuda
