// The decoder on a GPU, step for step the host's (kernels/host/transformer_model.cpp): a pre-LN
// GPT, per layer x1 = x + Attn(LN1(x)) Wo + bo, x2 = x1 + GELU(LN2(x1) W1 + b1) W2 + b2, then
// LNf, logits = LNf(x) Wlm and the mean cross-entropy against the next token. Products are
// row-major through cuBLASLt; the per-head attention products are strided batches over the
// heads of one sequence. For y = x W: dx = dy W^T, dW = x^T dy.
#include "kernels/cuda/transformer_model.hpp"

#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/transformer_kernels.cuh"
#include "kernels/cuda/transformer_matmul.hpp"

namespace rackqual::cuda {
namespace {

using transformer::Shape;
using transformer::Tensor;

template <typename T>
constexpr cudaDataType_t data_type() {
  if constexpr (std::is_same_v<T, float>) return CUDA_R_32F;
  else return CUDA_R_16BF;
}

// Elements of every buffer the model allocates, by storage type. Shared by the allocation and
// by device_bytes(), so that the size check counts exactly what is allocated.
struct Extents {
  explicit Extents(const Shape& s)
      : P(transformer::Layout(s).total()), N(s.tokens()), h(s.hidden), V(s.vocab), L(s.layers),
        blocks(s.micro_batch * s.heads * s.seq * s.seq) {}
  std::int64_t P, N, h, V, L;
  std::int64_t blocks;   // one layer's attention probabilities: micro_batch x heads x seq x seq

  // fp32: master weights, gradients, AdamW m and v; residual stream x [L + 1] and mid [L];
  // layernorm statistics; logits, per-row losses, the loss; scores and dP scratch; dx, dh.
  std::int64_t f32() const {
    return 4 * P + (L + 1) * N * h + L * N * h + 4 * L * N + 2 * N + N * V + N + 1 + blocks + 2 * N * h;
  }
  // Compute type: ln1, qkv, probs, attn, ln2, fc1, act [L]; lnf, dlogits; dscores, dx, dh,
  // dqkv, dfc copies; the weight copy when the compute type is not fp32.
  std::int64_t compute(bool weight_copy) const {
    return L * (N * h + 3 * N * h + blocks + N * h + N * h + 8 * N * h) + N * h + N * V + blocks + 2 * N * h + 3 * N * h +
           4 * N * h + (weight_copy ? P : 0);
  }
  std::int64_t int32() const { return 2 * N; }
};

// The optimizer walks the flat buffer in runs of tensors that share one weight decay.
struct DecayRun {
  std::int64_t first, count;
  bool decay;
};

std::vector<DecayRun> decay_runs(const transformer::Layout& layout) {
  std::vector<DecayRun> runs;
  for (std::int64_t k = 0; k < layout.tensors(); ++k) {
    const transformer::TensorRef t = layout.tensor(k);
    const bool decay = t.role == transformer::Role::matrix;
    if (!runs.empty() && runs.back().decay == decay && runs.back().first + runs.back().count == t.offset)
      runs.back().count += t.size();
    else
      runs.push_back({t.offset, t.size(), decay});
  }
  return runs;
}

// Strided batch of one product: count matrices, each stride_* elements after the last.
struct Batch {
  std::int32_t count = 1;
  std::int64_t a = 0, b = 0, c = 0;
};

template <typename T>
class Model final : public TransformerModel {
 public:
  Model(const Shape& shape, cublasLtHandle_t lt, const cudaDeviceProp& device)
      : TransformerModel(shape), shape_(shape), n_(shape.tokens()), blocks_(grid_blocks(device)), matmuls_(lt),
        runs_(decay_runs(layout_)) {
    const Extents e(shape);
    const std::int64_t N = n_, h = shape.hidden, L = shape.layers, V = shape.vocab, P = e.P;
    master_ = device_array<float>(P);
    grads_storage_ = device_array<float>(P);
    m_ = device_array<float>(P);
    v_ = device_array<float>(P);
    weights_ = master_.get();
    grads_ = grads_storage_.get();
    if constexpr (std::is_same_v<T, float>) {
      copy_ = master_.get();
    } else {
      copy_storage_ = device_array<T>(P);
      copy_ = copy_storage_.get();
    }
    inputs_ = device_array<std::int32_t>(N);
    targets_ = device_array<std::int32_t>(N);
    x_ = device_array<float>((L + 1) * N * h);
    mid_ = device_array<float>(L * N * h);
    ln1_mean_ = device_array<float>(L * N);
    ln1_rstd_ = device_array<float>(L * N);
    ln2_mean_ = device_array<float>(L * N);
    ln2_rstd_ = device_array<float>(L * N);
    lnf_mean_ = device_array<float>(N);
    lnf_rstd_ = device_array<float>(N);
    logits_ = device_array<float>(N * V);
    losses_ = device_array<float>(N);
    loss_storage_ = device_array<float>(1);
    loss_ = loss_storage_.get();
    scores_ = device_array<float>(e.blocks);
    dx_ = device_array<float>(N * h);
    dh_ = device_array<float>(N * h);
    ln1_ = device_array<T>(L * N * h);
    qkv_ = device_array<T>(L * N * 3 * h);
    probs_ = device_array<T>(L * e.blocks);
    attn_ = device_array<T>(L * N * h);
    ln2_ = device_array<T>(L * N * h);
    fc1_ = device_array<T>(L * N * 4 * h);
    act_ = device_array<T>(L * N * 4 * h);
    lnf_ = device_array<T>(N * h);
    dlogits_ = device_array<T>(N * V);
    dscores_ = device_array<T>(e.blocks);
    dxc_ = device_array<T>(N * h);
    dhc_ = device_array<T>(N * h);
    dqkv_ = device_array<T>(N * 3 * h);
    dfc_ = device_array<T>(N * 4 * h);
  }

  void initialise(std::uint64_t seed, cudaStream_t s) override {
    const std::int64_t P = layout_.total();
    kernels::initialise<<<blocks_, threads_per_block, 0, s>>>(layout_, seed, master_.get());
    launched();
    refresh_copy(0, P, s);
    for (float* x : {m_.get(), v_.get(), grads_})
      RACKQUAL_CHECK(cudaMemsetAsync(x, 0, static_cast<std::size_t>(P) * sizeof(float), s));
    RACKQUAL_CHECK(cudaStreamSynchronize(s));
  }

  // Row r of the micro-batch is position r mod seq of sequence r / seq: input token at that
  // position, target the token after it.
  void set_tokens(const std::int32_t* tokens, cudaStream_t s) override {
    const std::int64_t S = shape_.seq, V = shape_.vocab;
    std::vector<std::int32_t> inputs(static_cast<std::size_t>(n_)), targets(static_cast<std::size_t>(n_));
    for (std::int64_t r = 0; r < n_; ++r) {
      const std::int32_t* row = tokens + (r / S) * (S + 1) + r % S;
      if (row[0] < 0 || row[0] >= V || row[1] < 0 || row[1] >= V)
        throw std::invalid_argument("transformer: token id outside the vocabulary");
      inputs[static_cast<std::size_t>(r)] = row[0];
      targets[static_cast<std::size_t>(r)] = row[1];
    }
    to_device(inputs_.get(), inputs.data(), inputs.size(), s);
    to_device(targets_.get(), targets.data(), targets.size(), s);
  }

  void forward(cudaStream_t s) override;
  void backward(cudaStream_t s, const GradientsReady& ready) override;

  void optimizer_step(const transformer::AdamW& opt, std::int64_t step, float grad_scale, cudaStream_t s) override {
    const auto c1 = static_cast<float>(transformer::bias_correction(opt.beta1, step));
    const auto c2 = static_cast<float>(transformer::bias_correction(opt.beta2, step));
    const auto decay = static_cast<float>(opt.lr * opt.weight_decay);
    for (const DecayRun& run : runs_) {
      T* copy = separate_copy() ? copy_ + run.first : nullptr;
      kernels::adamw<T><<<blocks_for(run.count), threads_per_block, 0, s>>>(
          run.count, master_.get() + run.first, grads_ + run.first, m_.get() + run.first, v_.get() + run.first, copy,
          grad_scale, static_cast<float>(opt.lr), static_cast<float>(opt.beta1), static_cast<float>(opt.beta2),
          static_cast<float>(opt.eps), c1, c2, run.decay ? decay : 0.0f);
      launched();
    }
  }

  void set_weight(std::int64_t i, float value, cudaStream_t s) override {
    to_device(master_.get() + i, &value, 1, s);
    refresh_copy(i, 1, s);
    RACKQUAL_CHECK(cudaStreamSynchronize(s));
  }

 private:
  static constexpr bool separate_copy() { return !std::is_same_v<T, float>; }
  static void launched() { RACKQUAL_CHECK(cudaGetLastError()); }
  int blocks_for(std::int64_t n) const {
    return static_cast<int>(std::clamp<std::int64_t>((n + threads_per_block - 1) / threads_per_block, 1, blocks_));
  }
  static unsigned rows_grid(std::int64_t rows) { return static_cast<unsigned>(rows); }
  static unsigned warp_rows_grid(std::int64_t rows) {
    return static_cast<unsigned>((rows + kernels::warp_rows - 1) / kernels::warp_rows);
  }
  static unsigned columns_grid(std::int64_t cols) {
    return static_cast<unsigned>((cols + kernels::column_threads.x - 1) / kernels::column_threads.x);
  }

  // The compute copy of [first, first + count) from the master weights (nothing for fp32).
  void refresh_copy(std::int64_t first, std::int64_t count, cudaStream_t s) {
    if constexpr (separate_copy()) {
      kernels::convert<T><<<blocks_for(count), threads_per_block, 0, s>>>(count, master_.get() + first, copy_ + first);
      launched();
    }
  }

  const float* master(Tensor t, std::int64_t l = 0) const { return master_.get() + layout_.offset(t, l); }
  const T* copy(Tensor t, std::int64_t l = 0) const { return copy_ + layout_.offset(t, l); }
  float* grad(Tensor t, std::int64_t l = 0) const { return grads_ + layout_.offset(t, l); }

  // Row-major C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n.
  template <typename C>
  void gemm(cudaStream_t s, bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const T* a,
            std::int64_t lda, const T* b, std::int64_t ldb, float beta, C* c, std::int64_t ldc, Batch batch = {}) {
    const MatmulShape shape{ta, tb, m, n, k, lda, ldb, ldc, data_type<T>(), data_type<C>(), batch.count, batch.a, batch.b, batch.c};
    matmuls_.run(shape, a, b, c, alpha, beta, s);
  }

  void layernorm(cudaStream_t s, const float* x, Tensor gamma, Tensor beta, std::int64_t l, T* y, float* mean, float* rstd) {
    kernels::layernorm_forward<T><<<rows_grid(n_), kernels::row_threads, 0, s>>>(shape_.hidden, x, master(gamma, l),
                                                                                  master(beta, l), y, mean, rstd);
    launched();
  }
  // dx += the input gradient (and dxc = dx in T); the gamma and beta gradients.
  void layernorm_backward(cudaStream_t s, const float* x, Tensor gamma, Tensor beta, std::int64_t l, const float* mean,
                          const float* rstd) {
    const std::int64_t h = shape_.hidden;
    kernels::layernorm_backward<T><<<rows_grid(n_), kernels::row_threads, 0, s>>>(h, x, master(gamma, l), mean, rstd,
                                                                                   dh_.get(), dx_.get(), dxc_.get());
    launched();
    kernels::layernorm_parameter_grads<<<columns_grid(h), kernels::column_threads, 0, s>>>(n_, h, x, mean, rstd, dh_.get(),
                                                                                           grad(gamma, l), grad(beta, l));
    launched();
  }
  template <typename X>
  void column_sums(cudaStream_t s, std::int64_t cols, const X* x, float* out) {
    kernels::column_sums<X><<<columns_grid(cols), kernels::column_threads, 0, s>>>(n_, cols, x, out);
    launched();
  }

  void attention_forward(std::int64_t l, cudaStream_t s);
  void attention_backward(std::int64_t l, cudaStream_t s);

  Shape shape_;
  std::int64_t n_;   // tokens in the micro-batch: rows of every activation
  int blocks_;
  Matmuls matmuls_;
  std::vector<DecayRun> runs_;
  // Weights and optimizer state; copy_ is the master itself for fp32.
  DeviceArray<float> master_, grads_storage_, m_, v_;
  DeviceArray<T> copy_storage_;
  T* copy_ = nullptr;
  DeviceArray<std::int32_t> inputs_, targets_;
  // Activations, per layer where the host's are: x [L + 1], mid, statistics and the T ones [L].
  DeviceArray<float> x_, mid_, ln1_mean_, ln1_rstd_, ln2_mean_, ln2_rstd_, lnf_mean_, lnf_rstd_, logits_, losses_, loss_storage_;
  DeviceArray<T> ln1_, qkv_, probs_, attn_, ln2_, fc1_, act_, lnf_, dlogits_;
  // Scratch: fp32 scores (dP in the backward pass), the residual gradient dx and an h-wide
  // gradient dh; their compute-type copies and the attention, QKV and MLP gradients.
  DeviceArray<float> scores_, dx_, dh_;
  DeviceArray<T> dscores_, dxc_, dhc_, dqkv_, dfc_;
};

template <typename T>
void Model<T>::forward(cudaStream_t s) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, V = shape_.vocab, N = n_, L = shape_.layers;
  kernels::embed<<<blocks_, threads_per_block, 0, s>>>(N, S, h, inputs_.get(), master(Tensor::token_embedding),
                                                       master(Tensor::position_embedding), x_.get());
  launched();

  for (std::int64_t l = 0; l < L; ++l) {
    const float* x = x_.get() + l * N * h;
    T* ln1 = ln1_.get() + l * N * h;
    T* qkv = qkv_.get() + l * N * 3 * h;
    const T* attn = attn_.get() + l * N * h;
    float* mid = mid_.get() + l * N * h;
    T* ln2 = ln2_.get() + l * N * h;
    T* fc1 = fc1_.get() + l * N * 4 * h;
    T* act = act_.get() + l * N * 4 * h;
    float* out = x_.get() + (l + 1) * N * h;

    // Attention block: mid = x + Attn(LN1(x) Wqkv + bqkv) Wo + bo.
    layernorm(s, x, Tensor::ln1_gamma, Tensor::ln1_beta, l, ln1, ln1_mean_.get() + l * N, ln1_rstd_.get() + l * N);
    gemm(s, false, false, N, 3 * h, h, 1, ln1, h, copy(Tensor::qkv_weight, l), 3 * h, 0, qkv, 3 * h);
    kernels::add_bias<T><<<blocks_, threads_per_block, 0, s>>>(N, 3 * h, master(Tensor::qkv_bias, l), qkv);
    launched();
    attention_forward(l, s);
    kernels::residual_with_bias<<<blocks_, threads_per_block, 0, s>>>(N, h, x, master(Tensor::proj_bias, l), mid);
    launched();
    gemm(s, false, false, N, h, h, 1, attn, h, copy(Tensor::proj_weight, l), h, 1, mid, h);

    // MLP block: out = mid + GELU(LN2(mid) W1 + b1) W2 + b2; fc1 keeps the pre-activation.
    layernorm(s, mid, Tensor::ln2_gamma, Tensor::ln2_beta, l, ln2, ln2_mean_.get() + l * N, ln2_rstd_.get() + l * N);
    gemm(s, false, false, N, 4 * h, h, 1, ln2, h, copy(Tensor::fc1_weight, l), 4 * h, 0, fc1, 4 * h);
    kernels::bias_gelu<T><<<blocks_, threads_per_block, 0, s>>>(N, 4 * h, master(Tensor::fc1_bias, l), fc1, act);
    launched();
    kernels::residual_with_bias<<<blocks_, threads_per_block, 0, s>>>(N, h, mid, master(Tensor::fc2_bias, l), out);
    launched();
    gemm(s, false, false, N, h, 4 * h, 1, act, 4 * h, copy(Tensor::fc2_weight, l), h, 1, out, h);
  }

  // Final layernorm, LM head, cross-entropy and its gradient, mean loss.
  layernorm(s, x_.get() + L * N * h, Tensor::final_gamma, Tensor::final_beta, 0, lnf_.get(), lnf_mean_.get(), lnf_rstd_.get());
  gemm(s, false, false, N, V, h, 1, lnf_.get(), h, copy(Tensor::lm_head), V, 0, logits_.get(), V);
  kernels::cross_entropy<T><<<rows_grid(N), kernels::row_threads, 0, s>>>(V, logits_.get(), targets_.get(),
                                                                           1.0f / static_cast<float>(N), dlogits_.get(),
                                                                           losses_.get());
  launched();
  kernels::mean<<<1, kernels::row_threads, 0, s>>>(N, losses_.get(), loss_);
  launched();
}

// Per sequence, batched over its heads: scores = Q K^T / sqrt(d), P = causal softmax(scores),
// O = P V. Head j of a sequence starts j * d columns into Q, K, V and O, and j * seq^2 into P.
template <typename T>
void Model<T>::attention_forward(std::int64_t l, cudaStream_t s) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, H = shape_.heads, d = shape_.head_dim(), N = n_;
  const std::int64_t B = shape_.micro_batch, SS = S * S;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const auto heads = static_cast<std::int32_t>(H);
  const T* qkv = qkv_.get() + l * N * 3 * h;
  T* probs = probs_.get() + l * B * H * SS;
  T* attn = attn_.get() + l * N * h;
  for (std::int64_t b = 0; b < B; ++b) {
    const T* q = qkv + b * S * 3 * h;
    gemm(s, false, true, S, S, d, scale, q, 3 * h, q + h, 3 * h, 0, scores_.get() + b * H * SS, S, {heads, d, d, SS});
  }
  kernels::causal_softmax<T><<<warp_rows_grid(B * H * S), threads_per_block, 0, s>>>(B * H * S, S, scores_.get(), probs);
  launched();
  for (std::int64_t b = 0; b < B; ++b) {
    const T* v = qkv + b * S * 3 * h + 2 * h;
    gemm(s, false, false, S, d, S, 1, probs + b * H * SS, S, v, 3 * h, 0, attn + b * S * h, h, {heads, SS, d, d});
  }
}

// Given dO (dhc_), per sequence and batched over heads: dP = dO V^T, dV = P^T dO; dS = softmax
// backward; dQ = dS K / sqrt(d), dK = dS^T Q / sqrt(d); all into dqkv_.
template <typename T>
void Model<T>::attention_backward(std::int64_t l, cudaStream_t s) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, H = shape_.heads, d = shape_.head_dim(), N = n_;
  const std::int64_t B = shape_.micro_batch, SS = S * S;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const auto heads = static_cast<std::int32_t>(H);
  const T* qkv = qkv_.get() + l * N * 3 * h;
  const T* probs = probs_.get() + l * B * H * SS;
  T* dqkv = dqkv_.get();
  for (std::int64_t b = 0; b < B; ++b) {
    const T* dout = dhc_.get() + b * S * h;
    const T* v = qkv + b * S * 3 * h + 2 * h;
    gemm(s, false, true, S, S, d, 1, dout, h, v, 3 * h, 0, scores_.get() + b * H * SS, S, {heads, d, d, SS});
    gemm(s, true, false, S, d, S, 1, probs + b * H * SS, S, dout, h, 0, dqkv + b * S * 3 * h + 2 * h, 3 * h, {heads, SS, d, d});
  }
  kernels::causal_softmax_backward<T><<<warp_rows_grid(B * H * S), threads_per_block, 0, s>>>(B * H * S, S, probs,
                                                                                               scores_.get(), dscores_.get());
  launched();
  for (std::int64_t b = 0; b < B; ++b) {
    const T* ds = dscores_.get() + b * H * SS;
    const T* q = qkv + b * S * 3 * h;
    T* dq = dqkv + b * S * 3 * h;
    gemm(s, false, false, S, d, S, scale, ds, S, q + h, 3 * h, 0, dq, 3 * h, {heads, SS, d, d});
    gemm(s, true, false, S, d, S, scale, ds, S, q, 3 * h, 0, dq + h, 3 * h, {heads, SS, d, d});
  }
}

template <typename T>
void Model<T>::backward(cudaStream_t s, const GradientsReady& ready) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, V = shape_.vocab, N = n_, L = shape_.layers;
  auto done = [&](std::int64_t first, std::int64_t count) {
    if (ready) ready(first, count);
  };
  float* dx = dx_.get();
  float* dh = dh_.get();
  T* dxc = dxc_.get();
  T* dfc = dfc_.get();
  T* dqkv = dqkv_.get();

  // LM head and final layernorm: dx = d loss / d x[L].
  gemm(s, true, false, h, V, N, 1, lnf_.get(), h, dlogits_.get(), V, 0, grad(Tensor::lm_head), V);
  gemm(s, false, true, N, h, V, 1, dlogits_.get(), V, copy(Tensor::lm_head), V, 0, dh, h);
  RACKQUAL_CHECK(cudaMemsetAsync(dx, 0, static_cast<std::size_t>(N * h) * sizeof(float), s));
  layernorm_backward(s, x_.get() + L * N * h, Tensor::final_gamma, Tensor::final_beta, 0, lnf_mean_.get(), lnf_rstd_.get());
  const std::int64_t tail = layout_.offset(Tensor::final_gamma);
  done(tail, layout_.total() - tail);

  for (std::int64_t l = L - 1; l >= 0; --l) {
    const float* x = x_.get() + l * N * h;
    const T* ln1 = ln1_.get() + l * N * h;
    const T* attn = attn_.get() + l * N * h;
    const float* mid = mid_.get() + l * N * h;
    const T* ln2 = ln2_.get() + l * N * h;
    const T* fc1 = fc1_.get() + l * N * 4 * h;
    const T* act = act_.get() + l * N * 4 * h;

    // MLP block; dx holds d loss / d out and becomes d loss / d mid (residual plus LN2 path).
    gemm(s, true, false, 4 * h, h, N, 1, act, 4 * h, dxc, h, 0, grad(Tensor::fc2_weight, l), h);
    column_sums(s, h, static_cast<const float*>(dx), grad(Tensor::fc2_bias, l));
    gemm(s, false, true, N, 4 * h, h, 1, dxc, h, copy(Tensor::fc2_weight, l), h, 0, dfc, 4 * h);
    kernels::gelu_backward<T><<<blocks_, threads_per_block, 0, s>>>(N * 4 * h, fc1, dfc);
    launched();
    gemm(s, true, false, h, 4 * h, N, 1, ln2, h, dfc, 4 * h, 0, grad(Tensor::fc1_weight, l), 4 * h);
    column_sums(s, 4 * h, static_cast<const T*>(dfc), grad(Tensor::fc1_bias, l));
    gemm(s, false, true, N, h, 4 * h, 1, dfc, 4 * h, copy(Tensor::fc1_weight, l), 4 * h, 0, dh, h);
    layernorm_backward(s, mid, Tensor::ln2_gamma, Tensor::ln2_beta, l, ln2_mean_.get() + l * N, ln2_rstd_.get() + l * N);

    // Attention block; dx becomes d loss / d x[l].
    gemm(s, true, false, h, h, N, 1, attn, h, dxc, h, 0, grad(Tensor::proj_weight, l), h);
    column_sums(s, h, static_cast<const float*>(dx), grad(Tensor::proj_bias, l));
    gemm(s, false, true, N, h, h, 1, dxc, h, copy(Tensor::proj_weight, l), h, 0, dhc_.get(), h);
    attention_backward(l, s);
    gemm(s, true, false, h, 3 * h, N, 1, ln1, h, dqkv, 3 * h, 0, grad(Tensor::qkv_weight, l), 3 * h);
    column_sums(s, 3 * h, static_cast<const T*>(dqkv), grad(Tensor::qkv_bias, l));
    gemm(s, false, true, N, h, 3 * h, 1, dqkv, 3 * h, copy(Tensor::qkv_weight, l), 3 * h, 0, dh, h);
    layernorm_backward(s, x, Tensor::ln1_gamma, Tensor::ln1_beta, l, ln1_mean_.get() + l * N, ln1_rstd_.get() + l * N);
    done(layout_.layers_begin() + l * layout_.layer_size(), layout_.layer_size());
  }

  // Embeddings: dE[token] += dx[r] (atomically: tokens repeat), dP[s] = sum over sequences.
  float* dE = grad(Tensor::token_embedding);
  RACKQUAL_CHECK(cudaMemsetAsync(dE, 0, static_cast<std::size_t>(V * h) * sizeof(float), s));
  kernels::embed_backward_tokens<<<blocks_, threads_per_block, 0, s>>>(N, h, inputs_.get(), dx, dE);
  launched();
  kernels::embed_backward_positions<<<blocks_for(S * h), threads_per_block, 0, s>>>(shape_.micro_batch, S, h, dx,
                                                                                     grad(Tensor::position_embedding));
  launched();
  done(0, layout_.layers_begin());
}

// The shape checks of the host model.
void validate(const Shape& shape) {
  if (shape.hidden < 1 || shape.heads < 1 || shape.seq < 1 || shape.micro_batch < 1 || shape.layers < 1 || shape.vocab < 2)
    throw std::invalid_argument("transformer shape: every dimension must be positive (vocab at least 2)");
  if (shape.hidden % shape.heads != 0)
    throw std::invalid_argument("transformer shape: " + std::to_string(shape.heads) + " heads do not divide hidden " +
                                std::to_string(shape.hidden));
}

// Owners of a stream and a cuBLASLt handle for gradients_once().
struct OwnedStream {
  OwnedStream() { RACKQUAL_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)); }
  ~OwnedStream() { cudaStreamDestroy(stream); }
  OwnedStream(const OwnedStream&) = delete;
  OwnedStream& operator=(const OwnedStream&) = delete;
  cudaStream_t stream = nullptr;
};
struct OwnedLt {
  OwnedLt() { RACKQUAL_CHECK(cublasLtCreate(&lt)); }
  ~OwnedLt() { cublasLtDestroy(lt); }
  OwnedLt(const OwnedLt&) = delete;
  OwnedLt& operator=(const OwnedLt&) = delete;
  cublasLtHandle_t lt = nullptr;
};

}  // namespace

std::size_t TransformerModel::device_bytes(const Shape& shape, Precision precision) {
  const Extents e(shape);
  const bool bf16 = precision == Precision::bf16;
  const auto compute_size = bf16 ? sizeof(__nv_bfloat16) : sizeof(float);
  return static_cast<std::size_t>(e.f32()) * sizeof(float) + static_cast<std::size_t>(e.compute(bf16)) * compute_size +
         static_cast<std::size_t>(e.int32()) * sizeof(std::int32_t) + Matmuls::workspace_bytes;
}

std::unique_ptr<TransformerModel> TransformerModel::create(const Shape& shape, Precision precision, cublasLtHandle_t lt,
                                                           const cudaDeviceProp& device) {
  validate(shape);
  if (precision == Precision::bf16) return std::make_unique<Model<__nv_bfloat16>>(shape, lt, device);
  return std::make_unique<Model<float>>(shape, lt, device);
}

float TransformerModel::loss(cudaStream_t stream) const {
  float value = 0;
  to_host(&value, loss_, 1, stream);
  return value;
}

float gradients_once(const Shape& shape, Precision precision, std::uint64_t seed, const std::int32_t* tokens, float* grads) {
  int device = 0;
  RACKQUAL_CHECK(cudaGetDevice(&device));
  cudaDeviceProp properties{};
  RACKQUAL_CHECK(cudaGetDeviceProperties(&properties, device));
  const OwnedStream stream;
  const OwnedLt lt;
  const auto model = TransformerModel::create(shape, precision, lt.lt, properties);
  model->initialise(seed, stream.stream);
  model->set_tokens(tokens, stream.stream);
  model->forward(stream.stream);
  model->backward(stream.stream, {});
  const float loss = model->loss(stream.stream);
  to_host(grads, model->gradients(), static_cast<std::size_t>(model->layout().total()), stream.stream);
  return loss;
}

}  // namespace rackqual::cuda
