#pragma once
// The cuda backend's gradient collective for the training step: each bucket a summing
// ncclAllReduce on a stream of its own, started as soon as the compute stream has produced the
// bucket (ordered by an event), so that it overlaps the rest of the backward pass.
#include <cuda_runtime.h>
#include <nccl.h>

#include <memory>
#include <vector>

#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/model/collective.hpp"

namespace rackqual::cuda {

class GradientAllreduce final : public model::GradientCollective {
 public:
  // Creates (or reuses) the group's NCCL communicator: a collective over the group, so every
  // rank must have set up the step first. `stream`: the compute stream the primitives use.
  GradientAllreduce(CudaBackend& backend, const Group& group, cudaStream_t stream, double deadline);
  ~GradientAllreduce() override;
  GradientAllreduce(const GradientAllreduce&) = delete;
  GradientAllreduce& operator=(const GradientAllreduce&) = delete;

  int ranks() const override { return group_.size(); }
  void start(std::size_t bucket, model::View gradients) override;
  void join() override;
  void wait() override;
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override;

 private:
  CudaBackend& backend_;
  const Group& group_;
  cudaStream_t stream_;        // compute
  cudaStream_t comm_stream_ = nullptr;
  double deadline_;
  ncclComm_t comm_;
  std::vector<std::unique_ptr<Event>> ready_;   // one per bucket
  Event reduced_, done_;
};

}  // namespace rackqual::cuda
