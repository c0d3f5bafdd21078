// transformer_step on the host: the training step of kernels/model/training_step.hpp in fp32
// over the host's primitives (OpenBLAS, OpenMP), gradients summed with MPI across the group.
#include <memory>
#include <string>

#include "kernels/common/transformer.hpp"
#include "kernels/host/gradient_allreduce.hpp"
#include "kernels/host/transformer_primitives.hpp"
#include "kernels/model/out_of_memory.hpp"
#include "kernels/model/training_step.hpp"
#include "rackqual/backend.hpp"
#include "rackqual/error.hpp"

namespace rackqual::host {
namespace {

class TransformerStep : public Op {
 public:
  TransformerStep(const transformer::Shape& shape, const Group& group)
      : step_(primitives_, shape, model::Precision{}, group.world_rank(group.rank())), collective_(group) {}

  double run() override { return step_.run(collective_); }
  Correctness verify() override { return step_.verify(collective_); }
  void inject_error() override { step_.inject_error(); }
  std::map<std::string, double> phases() const override { return step_.phases(); }

 private:
  TransformerPrimitives primitives_;
  model::TrainingStep step_;
  GradientAllreduce collective_;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  const Params& p = ctx.params;
  const std::string& dtype = p.text("dtype");
  if (dtype != "fp32") throw SetupError("host backend: transformer_step dtype " + dtype + " is not supported (fp32)");
  const std::string grad_dtype = p.has("grad_dtype") ? p.text("grad_dtype") : "fp32";
  if (grad_dtype != "fp32")
    throw SetupError("host backend: transformer_step grad_dtype " + grad_dtype + " is not supported (fp32)");
  const transformer::Shape shape{p.integer("hidden"), p.integer("heads"), p.integer("seq"),
                                 p.integer("micro_batch"), p.integer("layers"), p.integer("vocab")};
  try {
    return std::make_unique<TransformerStep>(shape, ctx.group);
  } catch (const std::invalid_argument& e) {
    throw SetupError(std::string("host backend: ") + e.what());
  } catch (const model::OutOfMemory& e) {
    throw SetupError(std::string("host backend: transformer_step: ") + e.what());
  }
}

const OpRegistration registration("host", "transformer_step", make);

}  // namespace
}  // namespace rackqual::host
