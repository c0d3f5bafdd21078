#pragma once
// What a backend supplies to run the training step: memory, matrix products, the row-wise and
// element-wise maths of the decoder, AdamW, a weight hash and a clock. The step itself
// (kernels/model/) is written once over this interface; a backend never re-describes it.
//
// Every call enqueues work in order on the backend's one queue (the host runs it at once, a GPU
// on its stream); calls that hand data back to the caller wait for the work before them.
// Element types follow the step's Precision (kernels/model/precision.hpp): "master" views hold
// the master type, "compute" views the compute type; a backend rejects types it does not offer.
#include <cstdint>
#include <string>

#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/model/view.hpp"

namespace rackqual::model {

// Strided batch: `count` products, matrix i of A, B and C starting i * stride elements after
// the first.
struct Batch {
  std::int32_t count = 1;
  std::int64_t a = 0, b = 0, c = 0;
};

// Row-major C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n, accumulated in at least
// the precision of C. A and B share one element type (compute); C may be master or compute.
struct Matmul {
  bool ta = false, tb = false;
  std::int64_t m = 0, n = 0, k = 0;
  double alpha = 1;
  View a;
  std::int64_t lda = 0;
  View b;
  std::int64_t ldb = 0;
  double beta = 0;
  View c;
  std::int64_t ldc = 0;
  Batch batch;
};

// One AdamW step's scalars (transformer::adamw_update): the hyper-parameters, this step's bias
// corrections c1 = 1 - beta1^t and c2 = 1 - beta2^t, the decoupled decay lr * weight_decay (0 for
// biases and layernorms) and the factor the summed gradient is multiplied by (1 / ranks).
struct AdamWScalars {
  double lr, beta1, beta2, eps, c1, c2, decay, grad_scale;
};

class Primitives {
 public:
  virtual ~Primitives() = default;

  // --- Memory and transfers.
  // A new buffer of `count` elements, owned by the backend until it is destroyed. Throws
  // OutOfMemory (kernels/model/out_of_memory.hpp) with the bytes asked for.
  virtual View allocate(DType type, std::int64_t count) = 0;
  // Copies dst.bytes() bytes from the caller's memory into dst; returns once they are copied.
  virtual void upload(const void* host, View dst) = 0;
  // Copies src into the caller's memory once the work before it is done.
  virtual void download(View src, void* host) = 0;
  // x = 0.
  virtual void zero(View x) = 0;
  // dst = src element by element in dst's type (rounded to nearest even); same count.
  virtual void convert(View src, View dst) = 0;
  // Returns once every enqueued call is done.
  virtual void synchronize() = 0;

  // --- Weights.
  // Every element of the flat buffer from transformer::initial_weight (master type).
  virtual void initialise(const transformer::Layout& layout, std::uint64_t seed, View weights) = 0;
  // fnv1a_words (kernels/common/hash.hpp) of the view's bytes, once the work before it is done.
  virtual std::uint64_t hash(View x) = 0;

  // --- The decoder's arithmetic.
  virtual void matmul(const Matmul& product) = 0;
  // x[r] = token_table[inputs[r]] + position_table[r mod seq], rows = inputs.count, width h (master).
  virtual void embedding_forward(std::int64_t seq, std::int64_t h, View inputs, View token_table, View position_table,
                                 View x) = 0;
  // dtoken = sum of dx over the rows of each token, dposition[s] = sum of dx over the rows at s;
  // both are overwritten (master).
  virtual void embedding_backward(std::int64_t seq, std::int64_t h, View inputs, View dx, View dtoken,
                                  View dposition) = 0;
  // y[r][j] += bias[j] (bias master, y compute).
  virtual void add_bias(std::int64_t rows, std::int64_t cols, View bias, View y) = 0;
  // y[r][j] = x[r][j] + bias[j] (master): the residual stream plus a bias, for a product with beta = 1 to add to.
  virtual void residual_with_bias(std::int64_t rows, std::int64_t cols, View x, View bias, View y) = 0;
  // out[j] = sum over rows of x[r][j] (x master or compute, out master): a bias gradient.
  virtual void column_sums(std::int64_t rows, std::int64_t cols, View x, View out) = 0;
  // Each row of n: y = layernorm(x) (compute), mean and rstd per row kept (master).
  virtual void layernorm_forward(std::int64_t rows, std::int64_t n, View x, View gamma, View beta, View y, View mean,
                                 View rstd) = 0;
  // dx += the input gradient for output gradient dy (master), dx_copy = dx in the compute type
  // (nothing when dx_copy is dx itself), dgamma = sum_r dy * xhat, dbeta = sum_r dy.
  virtual void layernorm_backward(std::int64_t rows, std::int64_t n, View x, View gamma, View mean, View rstd, View dy,
                                  View dx, View dx_copy, View dgamma, View dbeta) = 0;
  // probs = causal softmax of scores (master in, compute out), rows of seq; row r attends to
  // positions 0 .. r mod seq, the rest are 0.
  virtual void causal_softmax_forward(std::int64_t rows, std::int64_t seq, View scores, View probs) = 0;
  // dscores = softmax backward of dprobs (master) at probs (compute), 0 where masked.
  virtual void causal_softmax_backward(std::int64_t rows, std::int64_t seq, View probs, View dprobs, View dscores) = 0;
  // u += bias (kept for the backward pass), act = GELU(u) (u, act compute; bias master).
  virtual void bias_gelu_forward(std::int64_t rows, std::int64_t cols, View bias, View u, View act) = 0;
  // d *= GELU'(u), element by element (compute).
  virtual void gelu_backward(View u, View d) = 0;
  // Per row of vocab logits (master): losses[r] = -log softmax(z)[targets[r]] (master) and
  // dlogits = scale * (softmax(z) - onehot(target)) (compute).
  virtual void cross_entropy(std::int64_t rows, std::int64_t vocab, View logits, View targets, double scale,
                             View dlogits, View losses) = 0;
  // out[0] = mean of x (master).
  virtual void mean(View x, View out) = 0;
  // One AdamW step over a run of the flat buffer (master w, g, m, v); copy = new w in the
  // compute type (nothing when copy is w itself).
  virtual void adamw(const AdamWScalars& s, View w, View g, View m, View v, View copy) = 0;

  // --- Clock.
  // Remembers, as mark `point`, the time at which the work enqueued so far is done.
  virtual void mark(int point) = 0;
  // Seconds between two marks, once both are done (after synchronize or a collective's wait).
  virtual double seconds_between(int from, int to) = 0;
};

}  // namespace rackqual::model
