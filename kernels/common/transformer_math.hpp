#pragma once
// The arithmetic of the transformer step that does not go through a GEMM, shared by the
// backends: where each parameter lives in one flat buffer, how it is initialised, and the
// row-wise and element-wise maths of layernorm, GELU, causal softmax, cross-entropy and AdamW.
// Host and device code alike: no std containers, no exceptions.
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.hpp"
#include "kernels/common/random.hpp"
#include "kernels/common/transformer.hpp"

namespace rackqual::transformer {

// ---------------------------------------------------------------------------------------------
// Parameter layout. Every parameter lives in one flat buffer, so the gradients are one flat
// buffer too (one all-reduce). Matrices are row-major [in x out]: a linear layer is y = x·W + b.
//   token_embedding [V x h], position_embedding [seq x h],
//   per layer: ln1 gamma, beta [h]; qkv weight [h x 3h] (columns q | k | v), bias [3h];
//              proj weight [h x h], bias [h]; ln2 gamma, beta [h];
//              fc1 weight [h x 4h], bias [4h]; fc2 weight [4h x h], bias [h],
//   final layernorm gamma, beta [h], lm_head [h x V] (not tied to the embedding).

enum class Tensor : int {
  token_embedding,
  position_embedding,
  ln1_gamma,   // first per-layer tensor
  ln1_beta,
  qkv_weight,
  qkv_bias,
  proj_weight,
  proj_bias,
  ln2_gamma,
  ln2_beta,
  fc1_weight,
  fc1_bias,
  fc2_weight,
  fc2_bias,    // last per-layer tensor
  final_gamma,
  final_beta,
  lm_head,
};
inline constexpr int per_layer_tensors = 12;

// How a tensor is initialised and whether weight decay applies (matrices only).
enum class Role : int { matrix, bias, gamma, beta };

struct TensorRef {
  Tensor tensor;
  std::int64_t layer;    // -1 outside the decoder layers
  std::int64_t offset;   // first element in the flat buffer
  std::int64_t rows, cols;
  Role role;
  RACKQUAL_HD std::int64_t size() const { return rows * cols; }
};

class Layout {
 public:
  RACKQUAL_HD explicit Layout(const Shape& s) : h_(s.hidden), seq_(s.seq), vocab_(s.vocab), layers_(s.layers) {}

  // Rows and columns of a tensor.
  RACKQUAL_HD void dims(Tensor t, std::int64_t& rows, std::int64_t& cols) const {
    rows = 1;
    switch (t) {
      case Tensor::token_embedding: rows = vocab_; cols = h_; return;
      case Tensor::position_embedding: rows = seq_; cols = h_; return;
      case Tensor::qkv_weight: rows = h_; cols = 3 * h_; return;
      case Tensor::qkv_bias: cols = 3 * h_; return;
      case Tensor::proj_weight: rows = h_; cols = h_; return;
      case Tensor::fc1_weight: rows = h_; cols = 4 * h_; return;
      case Tensor::fc1_bias: cols = 4 * h_; return;
      case Tensor::fc2_weight: rows = 4 * h_; cols = h_; return;
      case Tensor::lm_head: rows = h_; cols = vocab_; return;
      default: cols = h_; return;   // layernorm parameters and the h-wide biases
    }
  }
  RACKQUAL_HD std::int64_t size(Tensor t) const {
    std::int64_t rows, cols;
    dims(t, rows, cols);
    return rows * cols;
  }
  RACKQUAL_HD static Role role(Tensor t) {
    switch (t) {
      case Tensor::ln1_gamma: case Tensor::ln2_gamma: case Tensor::final_gamma: return Role::gamma;
      case Tensor::ln1_beta: case Tensor::ln2_beta: case Tensor::final_beta: return Role::beta;
      case Tensor::qkv_bias: case Tensor::proj_bias: case Tensor::fc1_bias: case Tensor::fc2_bias: return Role::bias;
      default: return Role::matrix;
    }
  }
  RACKQUAL_HD static bool per_layer(Tensor t) {
    const int k = static_cast<int>(t);
    return k >= static_cast<int>(Tensor::ln1_gamma) && k <= static_cast<int>(Tensor::fc2_bias);
  }

  // Elements of one decoder layer: 12h^2 in matrices, 13h in biases and layernorms.
  RACKQUAL_HD std::int64_t layer_size() const { return 12 * h_ * h_ + 13 * h_; }
  RACKQUAL_HD std::int64_t layers_begin() const { return (vocab_ + seq_) * h_; }
  RACKQUAL_HD std::int64_t total() const { return layers_begin() + layers_ * layer_size() + 2 * h_ + h_ * vocab_; }

  // First element of a tensor (of decoder layer `layer` for per-layer tensors).
  RACKQUAL_HD std::int64_t offset(Tensor t, std::int64_t layer = 0) const {
    if (t == Tensor::token_embedding) return 0;
    if (t == Tensor::position_embedding) return vocab_ * h_;
    std::int64_t at;
    int first;
    if (per_layer(t)) {
      at = layers_begin() + layer * layer_size();
      first = static_cast<int>(Tensor::ln1_gamma);
    } else {
      at = layers_begin() + layers_ * layer_size();
      first = static_cast<int>(Tensor::final_gamma);
    }
    for (int k = first; k < static_cast<int>(t); ++k) at += size(static_cast<Tensor>(k));
    return at;
  }

  // Tensors in buffer order: 2 embeddings, 12 per layer, final gamma, beta and the LM head.
  RACKQUAL_HD std::int64_t tensors() const { return 2 + per_layer_tensors * layers_ + 3; }
  RACKQUAL_HD TensorRef tensor(std::int64_t k) const {
    Tensor t;
    std::int64_t layer = -1;
    if (k < 2) {
      t = static_cast<Tensor>(k);
    } else if (k < 2 + per_layer_tensors * layers_) {
      layer = (k - 2) / per_layer_tensors;
      t = static_cast<Tensor>(static_cast<int>(Tensor::ln1_gamma) + (k - 2) % per_layer_tensors);
    } else {
      t = static_cast<Tensor>(static_cast<int>(Tensor::final_gamma) + (k - 2 - per_layer_tensors * layers_));
    }
    return ref(t, layer < 0 ? 0 : layer, layer);
  }
  // The tensor that holds element i of the flat buffer.
  RACKQUAL_HD TensorRef locate(std::int64_t i) const {
    const std::int64_t tail = layers_begin() + layers_ * layer_size();
    std::int64_t layer = -1, at, k;
    int first;
    if (i < layers_begin()) {
      first = 0, at = 0, k = 2;
    } else if (i < tail) {
      layer = (i - layers_begin()) / layer_size();
      first = static_cast<int>(Tensor::ln1_gamma), at = layers_begin() + layer * layer_size(), k = per_layer_tensors;
    } else {
      first = static_cast<int>(Tensor::final_gamma), at = tail, k = 3;
    }
    for (int j = first; j < first + k - 1; ++j) {
      const std::int64_t n = size(static_cast<Tensor>(j));
      if (i < at + n) return ref(static_cast<Tensor>(j), layer < 0 ? 0 : layer, layer);
      at += n;
    }
    return ref(static_cast<Tensor>(first + k - 1), layer < 0 ? 0 : layer, layer);
  }

  RACKQUAL_HD std::int64_t layers() const { return layers_; }

 private:
  RACKQUAL_HD TensorRef ref(Tensor t, std::int64_t layer_for_offset, std::int64_t layer) const {
    TensorRef r{t, layer, offset(t, layer_for_offset), 0, 0, role(t)};
    dims(t, r.rows, r.cols);
    return r;
  }

  std::int64_t h_, seq_, vocab_, layers_;
};

// Initial value of element i of tensor t (i counted from the tensor's start), the same on every
// rank: matrices uniform with standard deviation 0.02 (GPT-2), the residual-stream projections
// (proj, fc2) scaled by 1/sqrt(2 * layers); layernorm gamma 1; biases and layernorm beta 0.
// The stream is the flat buffer's: element i of t is element t.offset + i of the buffer.
template <typename T>
RACKQUAL_HD T initial_weight(const TensorRef& t, std::int64_t layers, std::int64_t i, std::uint64_t seed) {
  if (t.role == Role::gamma) return T(1);
  if (t.role != Role::matrix) return T(0);
  double scale = 0.02 * 1.7320508075688772;   // uniform on [-a, a] has std a / sqrt(3)
  if (t.tensor == Tensor::proj_weight || t.tensor == Tensor::fc2_weight)
    scale /= std::sqrt(2.0 * static_cast<double>(layers));
  return static_cast<T>(random::uniform(seed, static_cast<std::uint64_t>(t.offset + i), -scale, scale));
}

// Initial value of element i of the flat buffer.
template <typename T>
RACKQUAL_HD T initial_weight(const Layout& layout, std::int64_t i, std::uint64_t seed) {
  const TensorRef t = layout.locate(i);
  return initial_weight<T>(t, layout.layers(), i - t.offset, seed);
}

// ---------------------------------------------------------------------------------------------
// Layernorm over one row of n: y = gamma * (x - mean) * rstd + beta, rstd = 1 / sqrt(var + eps).

inline constexpr double layernorm_eps = 1e-5;

template <typename T>
RACKQUAL_HD void layernorm_forward_row(std::int64_t n, const T* x, const T* gamma, const T* beta, T* y, T* mean_out,
                                       T* rstd_out) {
  T sum = 0;
  for (std::int64_t j = 0; j < n; ++j) sum += x[j];
  const T mean = sum / static_cast<T>(n);
  T sq = 0;
  for (std::int64_t j = 0; j < n; ++j) sq += (x[j] - mean) * (x[j] - mean);
  const T rstd = T(1) / std::sqrt(sq / static_cast<T>(n) + static_cast<T>(layernorm_eps));
  for (std::int64_t j = 0; j < n; ++j) y[j] = gamma[j] * ((x[j] - mean) * rstd) + beta[j];
  *mean_out = mean;
  *rstd_out = rstd;
}

// Adds the input gradient of one row to dx. With xhat = (x - mean) * rstd and g = dy * gamma:
// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)). The parameter gradients are column sums,
// dgamma = sum over rows of dy * xhat, dbeta = sum of dy, left to the caller.
template <typename T>
RACKQUAL_HD void layernorm_backward_row(std::int64_t n, const T* x, const T* gamma, T mean, T rstd, const T* dy, T* dx) {
  T sum_g = 0, sum_gx = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    const T g = dy[j] * gamma[j];
    sum_g += g;
    sum_gx += g * (x[j] - mean) * rstd;
  }
  const T mean_g = sum_g / static_cast<T>(n), mean_gx = sum_gx / static_cast<T>(n);
  for (std::int64_t j = 0; j < n; ++j) dx[j] += rstd * (dy[j] * gamma[j] - mean_g - (x[j] - mean) * rstd * mean_gx);
}

// ---------------------------------------------------------------------------------------------
// GELU, tanh approximation (Hendrycks & Gimpel 2016): 0.5 u (1 + tanh(y)), y = c (u + a u^3),
// c = sqrt(2 / pi), a = 0.044715. Since 0.5 (1 + tanh(y)) = sigmoid(2y), it is u * sigmoid(2y):
// one exp, accurate for either sign of u.

template <typename T>
RACKQUAL_HD T gelu(T u) {
  const T c2 = static_cast<T>(2 * 0.7978845608028654), a = static_cast<T>(0.044715);
  return u / (T(1) + std::exp(-c2 * (u + a * u * u * u)));
}

// d gelu / du = s + u s (1 - s) 2c (1 + 3a u^2), s = sigmoid(2y).
template <typename T>
RACKQUAL_HD T gelu_derivative(T u) {
  const T c2 = static_cast<T>(2 * 0.7978845608028654), a = static_cast<T>(0.044715);
  const T s = T(1) / (T(1) + std::exp(-c2 * (u + a * u * u * u)));
  return s + u * s * (T(1) - s) * c2 * (T(1) + 3 * a * u * u);
}

// ---------------------------------------------------------------------------------------------
// Causal softmax of one row of attention scores, in place: row s of a sequence attends to
// positions 0..s, so the first `valid` = s + 1 entries are normalised and the rest set to 0.

template <typename T>
RACKQUAL_HD void causal_softmax_row(std::int64_t valid, std::int64_t n, T* row) {
  T peak = row[0];
  for (std::int64_t j = 1; j < valid; ++j) peak = row[j] > peak ? row[j] : peak;
  T sum = 0;
  for (std::int64_t j = 0; j < valid; ++j) {
    row[j] = std::exp(row[j] - peak);
    sum += row[j];
  }
  const T inv = T(1) / sum;
  for (std::int64_t j = 0; j < valid; ++j) row[j] *= inv;
  for (std::int64_t j = valid; j < n; ++j) row[j] = 0;
}

// Softmax backward of one row, in place on the output gradient: with p = softmax(z),
// dz = p * (dp - sum_j p_j dp_j); masked entries get 0.
template <typename T>
RACKQUAL_HD void causal_softmax_backward_row(std::int64_t valid, std::int64_t n, const T* p, T* d) {
  T dot = 0;
  for (std::int64_t j = 0; j < valid; ++j) dot += p[j] * d[j];
  for (std::int64_t j = 0; j < valid; ++j) d[j] = p[j] * (d[j] - dot);
  for (std::int64_t j = valid; j < n; ++j) d[j] = 0;
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy of one row of n logits against `target`: returns -log softmax(z)[target] and
// replaces the logits with scale * d loss / d z = scale * (softmax(z) - onehot(target)).

template <typename T>
RACKQUAL_HD T cross_entropy_row(std::int64_t n, T* z, std::int64_t target, T scale) {
  T peak = z[0];
  for (std::int64_t j = 1; j < n; ++j) peak = z[j] > peak ? z[j] : peak;
  const T target_logit = z[target];
  T sum = 0;
  for (std::int64_t j = 0; j < n; ++j) {
    z[j] = std::exp(z[j] - peak);
    sum += z[j];
  }
  const T inv = scale / sum;
  for (std::int64_t j = 0; j < n; ++j) z[j] *= inv;
  z[target] -= scale;
  return std::log(sum) + peak - target_logit;
}

// ---------------------------------------------------------------------------------------------
// AdamW (Loshchilov & Hutter 2019), decoupled weight decay as PyTorch applies it:
// w -= lr * wd * w; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).

struct AdamW {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.01;   // applied to matrices only
};

// Bias corrections of step t (1-based): 1 - beta^t.
RACKQUAL_HD inline double bias_correction(double beta, std::int64_t step) {
  return 1.0 - std::pow(beta, static_cast<double>(step));
}

// One element: g is the (averaged) gradient; c1, c2 are the bias corrections of this step;
// decay is lr * weight_decay for matrices and 0 otherwise.
template <typename T>
RACKQUAL_HD void adamw_update(T& w, T& m, T& v, T g, T lr, T beta1, T beta2, T eps, T c1, T c2, T decay) {
  m = beta1 * m + (T(1) - beta1) * g;
  v = beta2 * v + (T(1) - beta2) * g * g;
  w = w * (T(1) - decay) - lr * (m / c1) / (std::sqrt(v / c2) + eps);
}

}  // namespace rackqual::transformer
