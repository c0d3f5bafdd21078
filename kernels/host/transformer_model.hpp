#pragma once
// The GPT-style decoder on the host: forward pass, loss and backward pass of one micro-batch,
// matrix products through OpenBLAS, the rest OpenMP loops over kernels/common/transformer_math.hpp.
// Pure compute: no MPI and no timing, so that tests can check it against finite differences.
#include <cstdint>

#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/host/buffer.hpp"

namespace rackqual::host {

// Tokens of a micro-batch: micro_batch rows of seq + 1 token ids; position s of a row is the
// input at s and the target at s - 1 (next-token prediction).
inline std::int64_t token_count(const transformer::Shape& s) { return s.micro_batch * (s.seq + 1); }

// Synthetic tokens, uniform over the vocabulary, from the counter RNG: stream `seed`.
void synthetic_tokens(const transformer::Shape& shape, std::uint64_t seed, std::int32_t* tokens);

// Initial weights (transformer::initial_weight of every element).
template <typename T>
void initialise_weights(const transformer::Layout& layout, std::uint64_t seed, T* weights);

// One AdamW step (step counts from 1) over every tensor of the flat buffers; the gradient is
// multiplied by grad_scale first (1 / ranks after a summing all-reduce).
template <typename T>
void adamw_step(const transformer::Layout& layout, const transformer::AdamW& opt, std::int64_t step, T grad_scale,
                T* weights, const T* grads, T* m, T* v);

// The activations of one micro-batch and the arithmetic over them.
template <typename T>
class Model {
 public:
  explicit Model(const transformer::Shape& shape);   // throws std::invalid_argument on a bad shape

  const transformer::Shape& shape() const { return shape_; }
  const transformer::Layout& layout() const { return layout_; }

  // Forward pass and mean cross-entropy of the micro-batch (token_count(shape) ids); keeps
  // what backward() needs, including the gradient of the loss with respect to the logits.
  T forward(const T* weights, const std::int32_t* tokens);
  // Gradient of the last forward()'s loss with respect to every parameter, written to grads
  // (layout().total() elements). The weights must be those of that forward().
  void backward(const T* weights, T* grads);

  T forward_backward(const T* weights, const std::int32_t* tokens, T* grads) {
    const T loss = forward(weights, tokens);
    backward(weights, grads);
    return loss;
  }

 private:
  void attention_forward(std::int64_t layer);
  void attention_backward(std::int64_t layer);

  transformer::Shape shape_;
  transformer::Layout layout_;
  std::int64_t n_;   // tokens in the micro-batch: rows of every activation
  // Activations, per layer where it says [L]. x holds the residual stream entering each layer
  // and, last, leaving the final one [L + 1].
  Array<std::int32_t> inputs_, targets_;
  Array<T> x_, ln1_, ln1_mean_, ln1_rstd_, qkv_, probs_, attn_, mid_, ln2_, ln2_mean_, ln2_rstd_, fc1_, act_;
  Array<T> lnf_, lnf_mean_, lnf_rstd_, logits_;   // logits_ holds d loss / d logits after forward()
  // Backward scratch: residual gradient, an h-wide and a 3h- and 4h-wide gradient, and one
  // seq x seq block per thread for the attention backward.
  Array<T> dx_, dh_, dqkv_, dfc_, dscores_;
  int threads_;
};

extern template class Model<float>;
extern template class Model<double>;

}  // namespace rackqual::host
