#include "kernels/model/training_step.hpp"

#include <limits>

#include "kernels/common/training_check.hpp"
#include "kernels/model/tokens.hpp"

namespace rackqual::model {

using transformer::Tensor;

TrainingStep::TrainingStep(Primitives& primitives, const transformer::Shape& shape, const Precision& precision,
                           int world_rank)
    : p_(primitives), model_(primitives, shape, precision) {
  if (precision.exchange != precision.master) exchange_ = p_.allocate(precision.exchange, model_.layout().total());
  model_.set_tokens(synthetic_tokens(shape, transformer::token_seed + static_cast<std::uint64_t>(world_rank)));
  model_.initialise(transformer::weight_seed);
  p_.synchronize();
}

double TrainingStep::run(GradientCollective& collective) {
  const double loss = step(collective);
  if (steps_ == 1) first_loss_ = loss;
  return p_.seconds_between(start, stop);
}

// The all-reduce sums; AdamW divides by the number of ranks as it reads the gradient, which
// saves a pass over the buffer. One rank exchanges nothing.
double TrainingStep::step(GradientCollective& collective) {
  const bool exchange = collective.ranks() > 1;
  const bool convert = exchange && exchange_.data != nullptr;
  const View grads = model_.gradients();
  p_.mark(start);
  model_.forward();
  p_.mark(forward_end);
  model_.backward([&](std::size_t k) {
    if (!exchange) return;
    const Bucket& b = model_.buckets()[k];
    if (convert) {
      p_.convert(grads.at(b.first, b.count), exchange_.at(b.first, b.count));
      collective.start(k, exchange_.at(b.first, b.count));
    } else {
      collective.start(k, grads.at(b.first, b.count));
    }
  });
  p_.mark(backward_end);
  if (exchange) collective.join();
  if (convert) p_.convert(exchange_, grads);
  p_.mark(allreduce_end);
  model_.optimizer_step(optimizer_, ++steps_, 1.0 / static_cast<double>(collective.ranks()));
  p_.mark(stop);
  collective.wait();

  phases_["forward"] = p_.seconds_between(start, forward_end);
  phases_["backward"] = p_.seconds_between(forward_end, backward_end);
  if (exchange) phases_["allreduce"] = p_.seconds_between(backward_end, allreduce_end);
  phases_["optimizer"] = p_.seconds_between(allreduce_end, stop);
  return model_.loss();
}

Correctness TrainingStep::verify(GradientCollective& collective) {
  const auto first = static_cast<float>(first_loss_);
  const auto before = weight_hashes(collective);
  double last = first_loss_;
  for (int i = 0; i < transformer::verify_steps; ++i) last = step(collective);
  const auto after = weight_hashes(collective);
  return transformer::judge_training(first, static_cast<float>(last), transformer::verify_steps + 1, before, after);
}

void TrainingStep::inject_error() {
  model_.set_weight(model_.layout().offset(Tensor::qkv_weight, 0), std::numeric_limits<double>::quiet_NaN());
}

std::vector<std::uint64_t> TrainingStep::weight_hashes(GradientCollective& collective) {
  return collective.all_gather(p_.hash(model_.weights()));
}

}  // namespace rackqual::model
