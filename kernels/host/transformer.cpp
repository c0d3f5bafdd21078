// transformer_step on the host: the training step of kernels/model/training_step.hpp in fp32
// over the host's primitives (OpenBLAS, OpenMP), gradients summed with MPI across the group.
#include <memory>
#include <string>

#include "kernels/common/transformer.hpp"
#include "kernels/host/blas_setting.hpp"
#include "kernels/host/gradient_allreduce.hpp"
#include "kernels/host/transformer_primitives.hpp"
#include "kernels/model/out_of_memory.hpp"
#include "kernels/model/training_step.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual::host {
namespace {

// With `consensus`, every rank trains on one micro-batch; the host's sums are in a fixed order,
// so its gradients reproduce bit for bit on CPUs of one model and OpenBLAS setting.
class TransformerStep : public Op {
 public:
  TransformerStep(const transformer::Shape& shape, const Group& group, bool consensus)
      : step_(primitives_, shape, model::Precision{}, consensus ? 0 : group.world_rank(group.rank())), collective_(group),
        consensus_(consensus) {}

  void launch() override { step_.run(collective_); }
  Correctness verify() override { return step_.verify(collective_); }
  void inject_error() override { step_.inject_error(); }
  std::optional<Digest> digest() override {
    if (!consensus_) return std::nullopt;
    Digest d = step_.digest(true);
    d.setting = blas_setting();
    return d;
  }
  void corrupt() override { step_.corrupt(); }
  std::map<std::string, double> phases() const override { return step_.phases(); }

 private:
  TransformerPrimitives primitives_;
  model::TrainingStep step_;
  GradientAllreduce collective_;
  bool consensus_;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  const auto& p = ctx.params.typed<TransformerParams>();
  if (p.dtype != DType::fp32 || p.grad_dtype != DType::fp32)
    throw SetupError("host backend: transformer_step runs in fp32 only (dtype and grad_dtype)");
  const transformer::Shape shape{p.hidden, p.heads, p.seq, p.micro_batch, p.layers, p.vocab};
  try {
    return std::make_unique<TransformerStep>(shape, ctx.group, p.consensus);
  } catch (const std::invalid_argument& e) {
    throw SetupError(std::string("host backend: ") + e.what());
  } catch (const model::OutOfMemory& e) {
    throw SetupError(std::string("host backend: transformer_step: ") + e.what());
  }
}

const OpRegistration registration("host", "transformer_step", make, {{"dtype", {"fp32"}}, {"grad_dtype", {"fp32"}}});

}  // namespace
}  // namespace rackqual::host
