#pragma once
// The GPT-style decoder both backends train, written once over the backend's primitives: its
// buffers, the forward pass and loss, the backward pass (announcing each gradient bucket as it
// completes) and the AdamW update. A pre-LN GPT (Radford et al. 2019); per layer
//   x1 = x + Attn(LN1(x)) Wo + bo,   x2 = x1 + GELU(LN2(x1) W1 + b1) W2 + b2,
// then LNf, logits = LNf(x) Wlm and the mean cross-entropy against the next token.
// No communication and no timing: kernels/model/training_step.hpp adds those.
#include <cstdint>
#include <functional>
#include <vector>

#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/model/buckets.hpp"
#include "kernels/model/precision.hpp"
#include "kernels/model/primitives.hpp"

namespace rackqual::model {

class Model {
 public:
  // Checks the shape (std::invalid_argument) and allocates every buffer through the primitives
  // (OutOfMemory). The weights are uninitialised until initialise() or load_weights().
  Model(Primitives& primitives, const transformer::Shape& shape, const Precision& precision);

  const transformer::Shape& shape() const { return shape_; }
  const transformer::Layout& layout() const { return layout_; }
  const Precision& precision() const { return precision_; }
  // The buckets backward() announces, by index.
  const std::vector<Bucket>& buckets() const { return buckets_; }

  // Weights from transformer::initial_weight with stream `seed`; optimizer state zero.
  void initialise(std::uint64_t seed);
  // Master weights = values (layout().total() of them, rounded to the master type); optimizer
  // state zero.
  void load_weights(const std::vector<double>& values);
  // Master weight i (and its compute copy) = value.
  void set_weight(std::int64_t i, double value);
  // The micro-batch: token_count(shape) ids (kernels/model/tokens.hpp); std::invalid_argument
  // when one is outside the vocabulary.
  void set_tokens(const std::vector<std::int32_t>& tokens);

  // Forward pass and mean cross-entropy of the micro-batch (read it with loss()).
  void forward();
  // Gradient of the last forward()'s loss with respect to every parameter, into gradients();
  // calls ready(k) as soon as the work that completes bucket k is enqueued, for k = 0, 1, ...
  void backward(const std::function<void(std::size_t bucket)>& ready = {});
  // One AdamW step (step counts from 1) on the gradients times grad_scale; refreshes the
  // compute copy of the weights.
  void optimizer_step(const transformer::AdamW& opt, std::int64_t step, double grad_scale);

  // The last forward()'s loss; waits for it.
  double loss();
  View weights() const { return master_; }      // master type, layout().total()
  View gradients() const { return grads_; }     // master type, layout().total()

 private:
  void attention_forward(std::int64_t layer);
  void attention_backward(std::int64_t layer);
  // Row-major C = alpha op(A) op(B) + beta C (Matmul in kernels/model/primitives.hpp).
  void product(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, View a, std::int64_t lda,
               View b, std::int64_t ldb, double beta, View c, std::int64_t ldc, Batch batch = {});
  // Master weight, its compute copy and its gradient of tensor t (of layer l).
  View master(transformer::Tensor t, std::int64_t l = 0) const;
  View copy(transformer::Tensor t, std::int64_t l = 0) const;
  View grad(transformer::Tensor t, std::int64_t l = 0) const;
  // Row block l of a per-layer activation of `width` elements per token.
  View per_layer(View v, std::int64_t l, std::int64_t width) const { return v.at(l * n_ * width, n_ * width); }
  // Zero optimizer state and the compute copy from the master weights.
  void reset_state();

  Primitives& p_;
  transformer::Shape shape_;
  transformer::Layout layout_;
  Precision precision_;
  std::vector<Bucket> buckets_;
  std::int64_t n_;   // tokens in the micro-batch: rows of every activation
  // Runs of the flat buffer that share one weight decay (matrices decay, the rest do not).
  struct DecayRun {
    std::int64_t first, count;
    bool decay;
  };
  std::vector<DecayRun> runs_;

  // Parameters: master weights, their compute copy (the master view itself when the types
  // agree), gradients, AdamW moments.
  View master_, copy_, grads_, m_, v_;
  // Tokens: the input and the target of each row.
  View inputs_, targets_;
  // Master-type activations: residual stream entering each layer and leaving the last [L + 1],
  // mid-layer stream [L], layernorm statistics [L], logits, per-row losses, the loss, attention
  // scores (and their gradient) of one layer, residual gradient dx and an h-wide gradient dh.
  View x_, mid_, ln1_mean_, ln1_rstd_, ln2_mean_, ln2_rstd_, lnf_mean_, lnf_rstd_, logits_, losses_, loss_, scores_, dx_,
      dh_;
  // Compute-type activations [L]: ln1, qkv, probs, attn, ln2, fc1 (pre-activation), act; then
  // lnf, dlogits, dscores and the gradients the products read: dx and dh copies (dx_ and dh_
  // themselves when the types agree), dqkv, dfc.
  View ln1_, qkv_, probs_, attn_, ln2_, fc1_, act_, lnf_, dlogits_, dscores_, dxc_, dhc_, dqkv_, dfc_;
};

}  // namespace rackqual::model
