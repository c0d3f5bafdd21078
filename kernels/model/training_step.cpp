#include "kernels/model/training_step.hpp"

#include <algorithm>
#include <limits>

#include "kernels/common/consensus.hpp"
#include "kernels/common/training_check.hpp"
#include "kernels/model/tokens.hpp"
#include "kernels/model/transfer.hpp"

namespace rackqual::model {

using transformer::Tensor;

TrainingStep::TrainingStep(Primitives& primitives, const transformer::Shape& shape, const Precision& precision, int batch)
    : p_(primitives), model_(primitives, shape, precision),
      tokens_(synthetic_tokens(shape, transformer::token_seed + static_cast<std::uint64_t>(batch))) {
  if (precision.exchange != precision.master) exchange_ = p_.allocate(precision.exchange, model_.layout().total());
  model_.set_tokens(tokens_);
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
  local_ = false;
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

void TrainingStep::local_pass() {
  if (local_) return;
  model_.forward();
  model_.backward();
  local_ = true;
}

Digest TrainingStep::digest(bool token_embedding_exact) {
  local_pass();
  const transformer::Layout& layout = model_.layout();
  const View grads = model_.gradients();
  const std::string type(to_string(grads.type));
  Digest d;
  if (token_embedding_exact) {
    d.hash = consensus::hex(p_.hash(grads));
    d.covers = "this rank's own gradients of its micro-batch at the weights after the step, before any exchange (" +
               std::to_string(grads.count) + " " + type + ")";
    return d;
  }
  const View exact = grads.from(layout.offset(Tensor::position_embedding));
  d.hash = consensus::hex(p_.hash(exact));
  // The token embedding's gradient at the first inputs' rows, 8 columns spread over each: rows
  // the batch reaches (others are 0), summed in an order the atomics do not repeat.
  const std::int64_t h = model_.shape().hidden, rows = std::min<std::int64_t>(8, model_.shape().seq);
  for (std::int64_t s = 0; s < rows; ++s) {
    const auto row = read_values(p_, grads.at(static_cast<std::int64_t>(tokens_[static_cast<std::size_t>(s)]) * h, h));
    for (std::int64_t c = 0; c < 8; ++c) d.sample.push_back(row[static_cast<std::size_t>(c * h / 8)]);
  }
  // A reordered fp32 sum of n terms moves by at most about n units of 2^-24 of its largest
  // partial sum; 1e-4 of the sample's largest value leaves room for hundreds of repeats.
  d.tolerance = 1e-4;
  d.covers = "this rank's own gradients of its micro-batch at the weights after the step, before any exchange, but the token "
             "embedding's (" + std::to_string(exact.count) + " " + type + ", hashed); the token embedding's at " +
             std::to_string(d.sample.size()) + " positions of the batch's rows (sampled: summed with atomics)";
  return d;
}

void TrainingStep::corrupt() {
  local_pass();
  const View element = model_.gradients().at(model_.layout().offset(Tensor::qkv_weight, 0), 1);
  std::vector<unsigned char> bits(element.bytes());
  p_.download(element, bits.data());
  consensus::flip_lowest_bit(bits.data());
  p_.upload(bits.data(), element);
}

std::vector<std::uint64_t> TrainingStep::weight_hashes(GradientCollective& collective) {
  return collective.all_gather(p_.hash(model_.weights()));
}

}  // namespace rackqual::model
