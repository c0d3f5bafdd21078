#pragma once
// One data-parallel training step of the decoder, described once for every backend: forward and
// loss, backward with each gradient bucket's all-reduce started as soon as the bucket is
// complete (converted to the exchange type first when it differs), AdamW on the summed
// gradients, the time of each phase, and the step's own check.
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/model/collective.hpp"
#include "kernels/model/model.hpp"
#include "kernels/model/precision.hpp"
#include "kernels/model/primitives.hpp"
#include "rackqual/api/backend.hpp"

namespace rackqual::model {

class TrainingStep {
 public:
  // Allocates everything the step needs (OutOfMemory; std::invalid_argument on a bad shape),
  // initialises the weights from transformer::weight_seed and the micro-batch from
  // transformer::token_seed + batch: this rank's world rank, or one batch for every rank where
  // their gradients are to be compared (consensus). Makes no collective call.
  TrainingStep(Primitives& primitives, const transformer::Shape& shape, const Precision& precision, int batch);

  // One training step with the other ranks of `collective`; returns its duration by the
  // backend's clock. The first step's loss is kept for verify().
  double run(GradientCollective& collective);
  // After the first step: (a) its loss is finite; (b) transformer::verify_steps more steps on
  // the same batch lower it; (c) every rank holds the same weights, before and after those
  // steps. Every rank makes the same collective calls whatever it finds, so a failing rank
  // cannot hang the others.
  Correctness verify(GradientCollective& collective);
  // Chaos drill: one master weight of this rank (the first of layer 0's QKV matrix, which every
  // output depends on) becomes NaN, and its compute copy with it.
  void inject_error();
  // The digest of this rank's own gradients of its micro-batch at the current weights, from a
  // forward and backward pass with no exchange: nothing from another rank enters them (the
  // weights after a step are every rank's same sum whatever one of them computed). The hash
  // covers every gradient; where the backend sums the token embedding's gradient with
  // floating-point atomics (token_embedding_exact false), every gradient but that one, whose
  // values at the batch's first tokens are sampled for a vote within a tolerance instead.
  // The next step computes its gradients afresh.
  Digest digest(bool token_embedding_exact);
  // Chaos drill: one gradient digest() covers (the first of layer 0's QKV matrix) changes by its
  // least significant bit.
  void corrupt();
  // Seconds of the last step's forward, backward, allreduce (the part not hidden behind the
  // backward pass; only with more than one rank) and optimizer phases.
  std::map<std::string, double> phases() const { return phases_; }

  Model& model() { return model_; }

 private:
  // The points in time each step marks on the backend's clock.
  enum Mark : int { start, forward_end, backward_end, allreduce_end, stop };
  // One step, waited for; returns this rank's loss.
  double step(GradientCollective& collective);
  // This rank's weight hash, and every rank's.
  std::vector<std::uint64_t> weight_hashes(GradientCollective& collective);
  // Forward and backward with no exchange, once after each step: gradients() then hold this
  // rank's own.
  void local_pass();

  Primitives& p_;
  Model model_;
  View exchange_;   // the gradients in the exchange type, when it is not the master type
  transformer::AdamW optimizer_;
  std::vector<std::int32_t> tokens_;   // the micro-batch (kernels/model/tokens.hpp)
  bool local_ = false;                  // gradients() hold a local pass's, not a step's
  std::int64_t steps_ = 0;
  double first_loss_ = std::numeric_limits<double>::quiet_NaN();
  std::map<std::string, double> phases_;
};

}  // namespace rackqual::model
