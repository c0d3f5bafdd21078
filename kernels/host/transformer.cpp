// transformer_step on the host: one data-parallel training step of the GPT-style decoder in
// fp32: forward and loss, backward (kernels/host/transformer_model.hpp), a summing
// MPI_Allreduce of the one flat gradient buffer across the group, AdamW.
#include <mpi.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/common/transformer.hpp"
#include "kernels/common/hash.hpp"
#include "kernels/common/training_check.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/host/buffer.hpp"
#include "kernels/host/timer.hpp"
#include "kernels/host/transformer_model.hpp"
#include "rackqual/backend.hpp"
#include "rackqual/error.hpp"
#include "rackqual/mpi_native.hpp"

namespace rackqual::host {
namespace {

using transformer::token_seed;
using transformer::verify_steps;
using transformer::weight_seed;

class TransformerStep : public Op {
 public:
  TransformerStep(const transformer::Shape& shape, const Group& group)
      : layout_(shape), model_(shape), total_(layout_.total()), comm_(native_comm(group)),
        ranks_(group.size()), weights_(allocate<float>(total_)), grads_(allocate<float>(total_)),
        m_(allocate<float>(total_)), v_(allocate<float>(total_)), tokens_(allocate<std::int32_t>(token_count(shape))) {
    if (total_ > std::numeric_limits<int>::max())
      throw SetupError("host backend: transformer_step has 2^31 parameters or more (one MPI_Allreduce)");
    initialise_weights(layout_, weight_seed, weights_.get());
    float* g = grads_.get();
    float* m = m_.get();
    float* v = v_.get();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < total_; ++i) g[i] = m[i] = v[i] = 0;
    synthetic_tokens(shape, token_seed + static_cast<std::uint64_t>(group.world_rank(group.rank())), tokens_.get());
  }

  void launch() override {
    const float loss = step();
    if (steps_ == 1) first_loss_ = loss;
  }

  // After the first step: (a) its loss is finite; (b) a few more steps on the same batch lower
  // it; (c) every rank holds the same weights, before and after those steps. Every rank makes
  // the same collective calls whatever it finds, so a failing rank cannot hang the others.
  Correctness verify() override {
    const float first = first_loss_;
    const auto before = weight_hashes();
    float last = first;
    for (int i = 0; i < verify_steps; ++i) last = step();
    const auto after = weight_hashes();
    return transformer::judge_training(first, last, verify_steps + 1, before, after);
  }

  // One weight of this rank (the first of layer 0's QKV matrix, which every output depends on) becomes NaN.
  void inject_error() override {
    weights_[layout_.offset(transformer::Tensor::qkv_weight, 0)] = std::numeric_limits<float>::quiet_NaN();
  }

  std::map<std::string, double> phases() const override { return phases_; }

 private:
  // One training step; returns this rank's loss. The all-reduce sums; AdamW divides by the
  // number of ranks as it reads the gradient, which saves a pass over the buffer.
  float step() {
    float loss = 0;
    phases_["forward"] = time_seconds([&] { loss = model_.forward(weights_.get(), tokens_.get()); });
    phases_["backward"] = time_seconds([&] { model_.backward(weights_.get(), grads_.get()); });
    phases_["allreduce"] = time_seconds([&] {
      if (ranks_ < 2) return;
      const int rc = MPI_Allreduce(MPI_IN_PLACE, grads_.get(), static_cast<int>(total_), MPI_FLOAT, MPI_SUM, comm_);
      if (rc != MPI_SUCCESS)
        throw std::runtime_error("MPI_Allreduce of the gradients failed with code " + std::to_string(rc));
    });
    phases_["optimizer"] = time_seconds([&] {
      adamw_step(layout_, optimizer_, ++steps_, 1.0f / static_cast<float>(ranks_), weights_.get(), grads_.get(), m_.get(),
                 v_.get());
    });
    return loss;
  }

  // Every rank's weight hash, on every rank.
  std::vector<std::uint64_t> weight_hashes() const {
    const std::uint64_t mine = fnv1a_words(weights_.get(), static_cast<std::size_t>(total_) * sizeof(float));
    std::vector<std::uint64_t> all(static_cast<std::size_t>(ranks_));
    const int rc = MPI_Allgather(&mine, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, comm_);
    if (rc != MPI_SUCCESS)
      throw std::runtime_error("MPI_Allgather of the weight hashes failed with code " + std::to_string(rc));
    return all;
  }

  transformer::Layout layout_;
  Model<float> model_;
  std::int64_t total_;
  MPI_Comm comm_;
  int ranks_;
  transformer::AdamW optimizer_;
  Array<float> weights_, grads_, m_, v_;
  Array<std::int32_t> tokens_;
  std::int64_t steps_ = 0;
  float first_loss_ = std::numeric_limits<float>::quiet_NaN();
  std::map<std::string, double> phases_;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  const std::string& dtype = ctx.params.text("dtype");
  if (dtype != "fp32") throw SetupError("host backend: transformer_step dtype " + dtype + " is not supported (fp32)");
  const Params& p = ctx.params;
  const transformer::Shape shape{p.integer("hidden"), p.integer("heads"), p.integer("seq"),
                                 p.integer("micro_batch"), p.integer("layers"), p.integer("vocab")};
  try {
    return std::make_unique<TransformerStep>(shape, ctx.group);
  } catch (const std::invalid_argument& e) {
    throw SetupError(std::string("host backend: ") + e.what());
  }
}

const OpRegistration registration("host", "transformer_step", make, {{"dtype", {"fp32"}}, {"grad_dtype", {"fp32"}}});

}  // namespace
}  // namespace rackqual::host
