// The host decoder: a pre-LN GPT (Radford et al. 2019). Per layer
//   x1 = x + Attn(LN1(x)) Wo + bo,   x2 = x1 + GELU(LN2(x1) W1 + b1) W2 + b2,
// then LNf, logits = LNf(x) Wlm, mean cross-entropy against the next token. Every matrix
// product is one cblas call (per sequence and head for attention), row-major, with BLAS
// transposition flags instead of transposed copies. For y = x W: dx = dy W^T, dW = x^T dy.
#include "kernels/host/transformer_model.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/common/random.hpp"

namespace rackqual::host {

using transformer::Layout;
using transformer::Shape;
using transformer::Tensor;

namespace {

// Row-major C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n.
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a, std::int64_t lda,
          const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a, std::int64_t lda,
          const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

// Column-wise reductions split the columns into blocks, one thread per block, each walking
// every row: no two threads write the same output.
constexpr std::int64_t column_block = 64;

template <typename T>
void zero(std::int64_t count, T* x) {
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < count; ++i) x[i] = 0;
}

// out[j] = sum over rows r of x[r][j]: the gradient of a bias added to every row.
template <typename T>
void column_sums(std::int64_t rows, std::int64_t cols, const T* x, T* out) {
#pragma omp parallel for schedule(static)
  for (std::int64_t c0 = 0; c0 < cols; c0 += column_block) {
    const std::int64_t c1 = std::min(cols, c0 + column_block);
    for (std::int64_t j = c0; j < c1; ++j) out[j] = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* row = x + r * cols;
      for (std::int64_t j = c0; j < c1; ++j) out[j] += row[j];
    }
  }
}

// y[r][j] = x[r][j] + bias[j]: a residual stream plus a bias, which a GEMM with beta = 1 then adds to.
template <typename T>
void residual_with_bias(std::int64_t rows, std::int64_t cols, const T* x, const T* bias, T* y) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < cols; ++j) y[r * cols + j] = x[r * cols + j] + bias[j];
}

template <typename T>
void add_bias(std::int64_t rows, std::int64_t cols, const T* bias, T* y) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t j = 0; j < cols; ++j) y[r * cols + j] += bias[j];
}

template <typename T>
void layernorm_rows(std::int64_t rows, std::int64_t n, const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r)
    transformer::layernorm_forward_row(n, x + r * n, gamma, beta, y + r * n, mean + r, rstd + r);
}

// dx += layernorm input gradient; dgamma = sum_r dy * xhat, dbeta = sum_r dy.
template <typename T>
void layernorm_backward(std::int64_t rows, std::int64_t n, const T* x, const T* gamma, const T* mean, const T* rstd,
                        const T* dy, T* dx, T* dgamma, T* dbeta) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r)
    transformer::layernorm_backward_row(n, x + r * n, gamma, mean[r], rstd[r], dy + r * n, dx + r * n);
#pragma omp parallel for schedule(static)
  for (std::int64_t c0 = 0; c0 < n; c0 += column_block) {
    const std::int64_t c1 = std::min(n, c0 + column_block);
    for (std::int64_t j = c0; j < c1; ++j) dgamma[j] = dbeta[j] = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const T* xr = x + r * n;
      const T* dyr = dy + r * n;
      const T m = mean[r], s = rstd[r];
      for (std::int64_t j = c0; j < c1; ++j) {
        dgamma[j] += dyr[j] * ((xr[j] - m) * s);
        dbeta[j] += dyr[j];
      }
    }
  }
}

}  // namespace

void synthetic_tokens(const Shape& shape, std::uint64_t seed, std::int32_t* tokens) {
  const std::int64_t count = token_count(shape);
  for (std::int64_t i = 0; i < count; ++i) {
    const double u = random::uniform(seed, static_cast<std::uint64_t>(i));
    const auto t = static_cast<std::int64_t>(u * static_cast<double>(shape.vocab));
    tokens[i] = static_cast<std::int32_t>(std::min(t, shape.vocab - 1));
  }
}

template <typename T>
void initialise_weights(const Layout& layout, std::uint64_t seed, T* weights) {
  for (std::int64_t k = 0; k < layout.tensors(); ++k) {
    const transformer::TensorRef t = layout.tensor(k);
    T* w = weights + t.offset;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < t.size(); ++i) w[i] = transformer::initial_weight<T>(t, layout.layers(), i, seed);
  }
}

template <typename T>
void adamw_step(const Layout& layout, const transformer::AdamW& opt, std::int64_t step, T grad_scale, T* weights,
                const T* grads, T* m, T* v) {
  const T lr = static_cast<T>(opt.lr), b1 = static_cast<T>(opt.beta1), b2 = static_cast<T>(opt.beta2);
  const T eps = static_cast<T>(opt.eps);
  const T c1 = static_cast<T>(transformer::bias_correction(opt.beta1, step));
  const T c2 = static_cast<T>(transformer::bias_correction(opt.beta2, step));
  for (std::int64_t k = 0; k < layout.tensors(); ++k) {
    const transformer::TensorRef t = layout.tensor(k);
    const T decay = t.role == transformer::Role::matrix ? static_cast<T>(opt.lr * opt.weight_decay) : T(0);
    T* w = weights + t.offset;
    const T* g = grads + t.offset;
    T* mt = m + t.offset;
    T* vt = v + t.offset;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < t.size(); ++i)
      transformer::adamw_update(w[i], mt[i], vt[i], g[i] * grad_scale, lr, b1, b2, eps, c1, c2, decay);
  }
}

template <typename T>
Model<T>::Model(const Shape& shape) : shape_(shape), layout_(shape), n_(shape.tokens()) {
  if (shape.hidden < 1 || shape.heads < 1 || shape.seq < 1 || shape.micro_batch < 1 || shape.layers < 1 || shape.vocab < 2)
    throw std::invalid_argument("transformer shape: every dimension must be positive (vocab at least 2)");
  if (shape.hidden % shape.heads != 0)
    throw std::invalid_argument("transformer shape: " + std::to_string(shape.heads) + " heads do not divide hidden " +
                                std::to_string(shape.hidden));
  const std::int64_t h = shape.hidden, L = shape.layers, N = n_, S = shape.seq;
  const std::int64_t blocks = shape.micro_batch * shape.heads;   // attention blocks per layer
  inputs_ = allocate<std::int32_t>(N);
  targets_ = allocate<std::int32_t>(N);
  x_ = allocate<T>((L + 1) * N * h);
  ln1_ = allocate<T>(L * N * h);
  ln1_mean_ = allocate<T>(L * N);
  ln1_rstd_ = allocate<T>(L * N);
  qkv_ = allocate<T>(L * N * 3 * h);
  probs_ = allocate<T>(L * blocks * S * S);
  attn_ = allocate<T>(L * N * h);
  mid_ = allocate<T>(L * N * h);
  ln2_ = allocate<T>(L * N * h);
  ln2_mean_ = allocate<T>(L * N);
  ln2_rstd_ = allocate<T>(L * N);
  fc1_ = allocate<T>(L * N * 4 * h);
  act_ = allocate<T>(L * N * 4 * h);
  lnf_ = allocate<T>(N * h);
  lnf_mean_ = allocate<T>(N);
  lnf_rstd_ = allocate<T>(N);
  logits_ = allocate<T>(N * shape.vocab);
  dx_ = allocate<T>(N * h);
  dh_ = allocate<T>(N * h);
  dqkv_ = allocate<T>(N * 3 * h);
  dfc_ = allocate<T>(N * 4 * h);
  threads_ = omp_get_max_threads();
  dscores_ = allocate<T>(static_cast<std::size_t>(threads_) * S * S);
}

template <typename T>
T Model<T>::forward(const T* w, const std::int32_t* tokens) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, V = shape_.vocab, N = n_, L = shape_.layers;
  for (std::int64_t r = 0; r < N; ++r) {
    const std::int32_t* row = tokens + (r / S) * (S + 1) + r % S;
    if (row[0] < 0 || row[0] >= V || row[1] < 0 || row[1] >= V)
      throw std::invalid_argument("transformer: token id outside the vocabulary");
    inputs_[r] = row[0];
    targets_[r] = row[1];
  }

  // Token plus position embedding.
  {
    const T* E = w + layout_.offset(Tensor::token_embedding);
    const T* P = w + layout_.offset(Tensor::position_embedding);
    T* x = x_.get();
    const std::int32_t* in = inputs_.get();
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < N; ++r) {
      const T* e = E + static_cast<std::int64_t>(in[r]) * h;
      const T* p = P + (r % S) * h;
      for (std::int64_t j = 0; j < h; ++j) x[r * h + j] = e[j] + p[j];
    }
  }

  for (std::int64_t l = 0; l < L; ++l) {
    auto W = [&](Tensor t) { return w + layout_.offset(t, l); };
    const T* x = x_.get() + l * N * h;
    T* ln1 = ln1_.get() + l * N * h;
    T* qkv = qkv_.get() + l * N * 3 * h;
    T* attn = attn_.get() + l * N * h;
    T* mid = mid_.get() + l * N * h;
    T* ln2 = ln2_.get() + l * N * h;
    T* fc1 = fc1_.get() + l * N * 4 * h;
    T* act = act_.get() + l * N * 4 * h;
    T* out = x_.get() + (l + 1) * N * h;

    // Attention block: mid = x + Attn(LN1(x) Wqkv + bqkv) Wo + bo.
    layernorm_rows(N, h, x, W(Tensor::ln1_gamma), W(Tensor::ln1_beta), ln1, ln1_mean_.get() + l * N,
                   ln1_rstd_.get() + l * N);
    gemm(false, false, N, 3 * h, h, T(1), ln1, h, W(Tensor::qkv_weight), 3 * h, T(0), qkv, 3 * h);
    add_bias(N, 3 * h, W(Tensor::qkv_bias), qkv);
    attention_forward(l);
    residual_with_bias(N, h, x, W(Tensor::proj_bias), mid);
    gemm(false, false, N, h, h, T(1), attn, h, W(Tensor::proj_weight), h, T(1), mid, h);

    // MLP block: out = mid + GELU(LN2(mid) W1 + b1) W2 + b2; fc1 keeps the pre-activation.
    layernorm_rows(N, h, mid, W(Tensor::ln2_gamma), W(Tensor::ln2_beta), ln2, ln2_mean_.get() + l * N,
                   ln2_rstd_.get() + l * N);
    gemm(false, false, N, 4 * h, h, T(1), ln2, h, W(Tensor::fc1_weight), 4 * h, T(0), fc1, 4 * h);
    {
      const T* b1 = W(Tensor::fc1_bias);
      const std::int64_t f = 4 * h;
#pragma omp parallel for schedule(static)
      for (std::int64_t r = 0; r < N; ++r)
        for (std::int64_t j = 0; j < f; ++j) {
          const T u = fc1[r * f + j] + b1[j];
          fc1[r * f + j] = u;
          act[r * f + j] = transformer::gelu(u);
        }
    }
    residual_with_bias(N, h, mid, W(Tensor::fc2_bias), out);
    gemm(false, false, N, h, 4 * h, T(1), act, 4 * h, W(Tensor::fc2_weight), h, T(1), out, h);
  }

  // Final layernorm, LM head, cross-entropy; the logits become d loss / d logits.
  layernorm_rows(N, h, x_.get() + L * N * h, w + layout_.offset(Tensor::final_gamma),
                 w + layout_.offset(Tensor::final_beta), lnf_.get(), lnf_mean_.get(), lnf_rstd_.get());
  gemm(false, false, N, V, h, T(1), lnf_.get(), h, w + layout_.offset(Tensor::lm_head), V, T(0), logits_.get(), V);
  double total = 0;
  T* logits = logits_.get();
  const std::int32_t* targets = targets_.get();
  const T scale = T(1) / static_cast<T>(N);
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (std::int64_t r = 0; r < N; ++r) total += transformer::cross_entropy_row(V, logits + r * V, targets[r], scale);
  return static_cast<T>(total / static_cast<double>(N));
}

// Per sequence and head: scores = Q K^T / sqrt(d), P = causal softmax(scores), O = P V. Heads
// run in parallel, each thread calling BLAS on its own (OpenBLAS runs single-threaded inside
// an OpenMP parallel region).
template <typename T>
void Model<T>::attention_forward(std::int64_t l) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, H = shape_.heads, d = shape_.head_dim(), N = n_;
  const std::int64_t blocks = shape_.micro_batch * H;
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  const T* qkv = qkv_.get() + l * N * 3 * h;
  T* probs = probs_.get() + l * blocks * S * S;
  T* attn = attn_.get() + l * N * h;
#pragma omp parallel for schedule(static)
  for (std::int64_t bh = 0; bh < blocks; ++bh) {
    const std::int64_t b = bh / H, head = bh % H;
    const T* q = qkv + b * S * 3 * h + head * d;
    const T* k = q + h;
    const T* v = q + 2 * h;
    T* p = probs + bh * S * S;
    gemm(false, true, S, S, d, scale, q, 3 * h, k, 3 * h, T(0), p, S);
    for (std::int64_t s = 0; s < S; ++s) transformer::causal_softmax_row(s + 1, S, p + s * S);
    gemm(false, false, S, d, S, T(1), p, S, v, 3 * h, T(0), attn + b * S * h + head * d, h);
  }
}

// Given dO (dh_), per sequence and head: dP = dO V^T, dV = P^T dO, dScores = softmax backward,
// dQ = dScores K / sqrt(d), dK = dScores^T Q / sqrt(d); written into dqkv_.
template <typename T>
void Model<T>::attention_backward(std::int64_t l) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, H = shape_.heads, d = shape_.head_dim(), N = n_;
  const std::int64_t blocks = shape_.micro_batch * H;
  const T scale = T(1) / std::sqrt(static_cast<T>(d));
  const T* qkv = qkv_.get() + l * N * 3 * h;
  const T* probs = probs_.get() + l * blocks * S * S;
  const T* dattn = dh_.get();
  T* dqkv = dqkv_.get();
  T* scratch = dscores_.get();
#pragma omp parallel for schedule(static)
  for (std::int64_t bh = 0; bh < blocks; ++bh) {
    const std::int64_t b = bh / H, head = bh % H;
    const T* q = qkv + b * S * 3 * h + head * d;
    const T* k = q + h;
    const T* v = q + 2 * h;
    T* dq = dqkv + b * S * 3 * h + head * d;
    T* dk = dq + h;
    T* dv = dq + 2 * h;
    const T* dout = dattn + b * S * h + head * d;
    const T* p = probs + bh * S * S;
    T* ds = scratch + static_cast<std::int64_t>(omp_get_thread_num()) * S * S;
    gemm(false, true, S, S, d, T(1), dout, h, v, 3 * h, T(0), ds, S);
    gemm(true, false, S, d, S, T(1), p, S, dout, h, T(0), dv, 3 * h);
    for (std::int64_t s = 0; s < S; ++s) transformer::causal_softmax_backward_row(s + 1, S, p + s * S, ds + s * S);
    gemm(false, false, S, d, S, scale, ds, S, k, 3 * h, T(0), dq, 3 * h);
    gemm(true, false, S, d, S, scale, ds, S, q, 3 * h, T(0), dk, 3 * h);
  }
}

template <typename T>
void Model<T>::backward(const T* w, T* grads) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, V = shape_.vocab, N = n_, L = shape_.layers;
  auto G = [&](Tensor t, std::int64_t l = 0) { return grads + layout_.offset(t, l); };
  T* dx = dx_.get();
  T* dh = dh_.get();
  T* dqkv = dqkv_.get();
  T* dfc = dfc_.get();
  if (omp_get_max_threads() > threads_) {
    threads_ = omp_get_max_threads();
    dscores_ = allocate<T>(static_cast<std::size_t>(threads_) * S * S);
  }

  // LM head and final layernorm: dx = d loss / d x[L].
  const T* dlogits = logits_.get();
  gemm(true, false, h, V, N, T(1), lnf_.get(), h, dlogits, V, T(0), G(Tensor::lm_head), V);
  gemm(false, true, N, h, V, T(1), dlogits, V, w + layout_.offset(Tensor::lm_head), V, T(0), dh, h);
  zero(N * h, dx);
  layernorm_backward(N, h, x_.get() + L * N * h, w + layout_.offset(Tensor::final_gamma), lnf_mean_.get(), lnf_rstd_.get(),
                     dh, dx, G(Tensor::final_gamma), G(Tensor::final_beta));

  for (std::int64_t l = L - 1; l >= 0; --l) {
    auto W = [&](Tensor t) { return w + layout_.offset(t, l); };
    const T* x = x_.get() + l * N * h;
    const T* ln1 = ln1_.get() + l * N * h;
    const T* attn = attn_.get() + l * N * h;
    const T* mid = mid_.get() + l * N * h;
    const T* ln2 = ln2_.get() + l * N * h;
    const T* fc1 = fc1_.get() + l * N * 4 * h;
    const T* act = act_.get() + l * N * 4 * h;

    // MLP block; dx holds d loss / d out and becomes d loss / d mid (residual plus LN2 path).
    gemm(true, false, 4 * h, h, N, T(1), act, 4 * h, dx, h, T(0), G(Tensor::fc2_weight, l), h);
    column_sums(N, h, dx, G(Tensor::fc2_bias, l));
    gemm(false, true, N, 4 * h, h, T(1), dx, h, W(Tensor::fc2_weight), h, T(0), dfc, 4 * h);
    {
      const std::int64_t count = N * 4 * h;
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < count; ++i) dfc[i] *= transformer::gelu_derivative(fc1[i]);
    }
    gemm(true, false, h, 4 * h, N, T(1), ln2, h, dfc, 4 * h, T(0), G(Tensor::fc1_weight, l), 4 * h);
    column_sums(N, 4 * h, dfc, G(Tensor::fc1_bias, l));
    gemm(false, true, N, h, 4 * h, T(1), dfc, 4 * h, W(Tensor::fc1_weight), 4 * h, T(0), dh, h);
    layernorm_backward(N, h, mid, W(Tensor::ln2_gamma), ln2_mean_.get() + l * N, ln2_rstd_.get() + l * N, dh, dx,
                       G(Tensor::ln2_gamma, l), G(Tensor::ln2_beta, l));

    // Attention block; dx becomes d loss / d x[l].
    gemm(true, false, h, h, N, T(1), attn, h, dx, h, T(0), G(Tensor::proj_weight, l), h);
    column_sums(N, h, dx, G(Tensor::proj_bias, l));
    gemm(false, true, N, h, h, T(1), dx, h, W(Tensor::proj_weight), h, T(0), dh, h);
    attention_backward(l);
    gemm(true, false, h, 3 * h, N, T(1), ln1, h, dqkv, 3 * h, T(0), G(Tensor::qkv_weight, l), 3 * h);
    column_sums(N, 3 * h, dqkv, G(Tensor::qkv_bias, l));
    gemm(false, true, N, h, 3 * h, T(1), dqkv, 3 * h, W(Tensor::qkv_weight), 3 * h, T(0), dh, h);
    layernorm_backward(N, h, x, W(Tensor::ln1_gamma), ln1_mean_.get() + l * N, ln1_rstd_.get() + l * N, dh, dx,
                       G(Tensor::ln1_gamma, l), G(Tensor::ln1_beta, l));
  }

  // Embeddings: dE[token] += dx[r], dP[s] = sum over sequences of dx[b, s]. Column blocks keep
  // repeated tokens from racing.
  T* dE = G(Tensor::token_embedding);
  T* dP = G(Tensor::position_embedding);
  zero(V * h, dE);
  const std::int32_t* in = inputs_.get();
#pragma omp parallel for schedule(static)
  for (std::int64_t c0 = 0; c0 < h; c0 += column_block) {
    const std::int64_t c1 = std::min(h, c0 + column_block);
    for (std::int64_t s = 0; s < S; ++s)
      for (std::int64_t j = c0; j < c1; ++j) dP[s * h + j] = 0;
    for (std::int64_t r = 0; r < N; ++r) {
      T* e = dE + static_cast<std::int64_t>(in[r]) * h;
      T* p = dP + (r % S) * h;
      for (std::int64_t j = c0; j < c1; ++j) {
        e[j] += dx[r * h + j];
        p[j] += dx[r * h + j];
      }
    }
  }
}

template class Model<float>;
template class Model<double>;
template void initialise_weights<float>(const Layout&, std::uint64_t, float*);
template void initialise_weights<double>(const Layout&, std::uint64_t, double*);
template void adamw_step<float>(const Layout&, const transformer::AdamW&, std::int64_t, float, float*, const float*,
                                float*, float*);
template void adamw_step<double>(const Layout&, const transformer::AdamW&, std::int64_t, double, double*, const double*,
                                 double*, double*);

}  // namespace rackqual::host
