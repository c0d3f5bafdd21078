// transformer_step on GPUs: the training step of kernels/model/training_step.hpp over the cuda
// primitives (cuBLASLt, CUDA kernels; bf16 or fp32 compute with fp32 master weights), its
// gradient buckets summed with NCCL on a stream of their own, overlapped with the backward pass.
//
// Set-up never hangs a group: every rank allocates everything first, then the group agrees that
// all ranks did (over MPI) before the first NCCL call, which would otherwise wait forever for a
// rank that ran out of memory.
#include <memory>
#include <string>
#include <vector>

#include "kernels/common/transformer.hpp"
#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/gradient_allreduce.hpp"
#include "kernels/cuda/transformer_primitives.hpp"
#include "kernels/model/solo_collective.hpp"
#include "kernels/model/training_step.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual::cuda {
namespace {

// Throws on every rank when set-up failed on any: this rank's own problem where it has one,
// else which ranks of the group (by world rank) failed. A collective over the group.
void agree_on_set_up(const Group& group, const std::string& problem) {
  if (group.all(problem.empty())) return;
  std::vector<double> failed(static_cast<std::size_t>(group.size()), 0.0);
  failed[static_cast<std::size_t>(group.rank())] = problem.empty() ? 0.0 : 1.0;
  failed = group.max_each(failed);
  if (!problem.empty()) throw SetupError(problem);
  std::string ranks;
  for (std::size_t r = 0; r < failed.size(); ++r)
    if (failed[r] > 0) ranks += (ranks.empty() ? "" : ", ") + std::to_string(group.world_rank(static_cast<int>(r)));
  throw SetupError("cuda backend: transformer_step set-up failed on rank " + ranks + "; NCCL not started");
}

// With `consensus`, every rank trains on one micro-batch. The GPU sums the token embedding's
// gradient with floating-point atomics, in no fixed order: the digest hashes every other
// gradient and samples that one for a vote within a tolerance.
class TransformerStep : public Op {
 public:
  TransformerStep(const OpContext& ctx, const transformer::Shape& shape, const model::Precision& precision, bool consensus)
      : consensus_(consensus) {
    auto& gpu = dynamic_cast<CudaBackend&>(ctx.backend);
    const Group& group = ctx.group;
    std::string problem;
    try {
      primitives_ = std::make_unique<TransformerPrimitives>(gpu.device_index(), gpu.properties(), gpu.stream(), gpu.lt(), consensus);
      step_ = std::make_unique<model::TrainingStep>(*primitives_, shape, precision,
                                                    consensus ? 0 : group.world_rank(group.rank()));
    } catch (const std::invalid_argument& e) {
      problem = std::string("cuda backend: ") + e.what();
    } catch (const std::exception& e) {
      problem = std::string("cuda backend: transformer_step: ") + e.what();
    }
    agree_on_set_up(group, problem);
    if (group.size() > 1) collective_ = std::make_unique<GradientAllreduce>(gpu, group, gpu.stream(), ctx.deadline);
    else collective_ = std::make_unique<model::SoloCollective>(*primitives_);
  }

  void launch() override { step_->run(*collective_); }
  Correctness verify() override { return step_->verify(*collective_); }
  void inject_error() override { step_->inject_error(); }
  std::optional<Digest> digest() override {
    if (!consensus_) return std::nullopt;
    Digest d = step_->digest(false);
    d.setting = "cuBLASLt " + std::to_string(cublasLtGetVersion());
    return d;
  }
  void corrupt() override { step_->corrupt(); }
  std::map<std::string, double> phases() const override { return step_->phases(); }

 private:
  bool consensus_;
  std::unique_ptr<TransformerPrimitives> primitives_;
  std::unique_ptr<model::TrainingStep> step_;
  std::unique_ptr<model::GradientCollective> collective_;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  auto& gpu = dynamic_cast<CudaBackend&>(ctx.backend);
  const auto& p = ctx.params.typed<TransformerParams>();
  const cudaDeviceProp& device = gpu.properties();
  if ((p.dtype == DType::bf16 || p.grad_dtype == DType::bf16) && device.major < 8)
    throw SetupError(std::string("cuda backend: transformer_step bf16 needs compute capability 8.0 or newer; ") +
                     device.name + " is " + std::to_string(device.major) + "." + std::to_string(device.minor));
  const transformer::Shape shape{p.hidden, p.heads, p.seq, p.micro_batch, p.layers, p.vocab};
  const model::Precision precision{DType::fp32, p.dtype, p.grad_dtype};   // the registration accepts fp32 and bf16
  return std::make_unique<TransformerStep>(ctx, shape, precision, p.consensus);
}

const OpRegistration registration("cuda", "transformer_step", make,
                                   {{"dtype", {"fp32", "bf16"}}, {"grad_dtype", {"fp32", "bf16"}}});

}  // namespace
}  // namespace rackqual::cuda
