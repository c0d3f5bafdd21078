// The decoder's schedule over the primitives. Products are row-major with transposition flags
// instead of transposed copies; for y = x W: dx = dy W^T, dW = x^T dy. The per-head attention
// products are strided batches over the heads of one sequence: head j starts j * head_dim
// columns into Q, K, V and O, and j * seq^2 into the scores and probabilities.
#include "kernels/model/model.hpp"

#include <cmath>
#include <stdexcept>

#include "kernels/model/shape_check.hpp"
#include "kernels/model/tokens.hpp"
#include "kernels/model/transfer.hpp"

namespace rackqual::model {

using transformer::Shape;
using transformer::Tensor;

namespace {

// The shape, checked before anything is allocated.
const Shape& checked(const Shape& shape) {
  check_shape(shape);
  return shape;
}

}  // namespace

Model::Model(Primitives& primitives, const Shape& shape, const Precision& precision)
    : p_(primitives), shape_(checked(shape)), layout_(shape), precision_(precision), buckets_(gradient_buckets(layout_)),
      n_(shape.tokens()) {
  for (std::int64_t k = 0; k < layout_.tensors(); ++k) {
    const transformer::TensorRef t = layout_.tensor(k);
    const bool decay = t.role == transformer::Role::matrix;
    if (!runs_.empty() && runs_.back().decay == decay && runs_.back().first + runs_.back().count == t.offset)
      runs_.back().count += t.size();
    else
      runs_.push_back({t.offset, t.size(), decay});
  }

  const std::int64_t P = layout_.total(), N = n_, h = shape.hidden, L = shape.layers, V = shape.vocab;
  const std::int64_t blocks = shape.micro_batch * shape.heads * shape.seq * shape.seq;   // one layer's scores
  const DType M = precision.master, C = precision.compute;
  auto master = [&](std::int64_t count) { return p_.allocate(M, count); };
  auto compute = [&](std::int64_t count) { return p_.allocate(C, count); };
  const bool separate = M != C;

  master_ = master(P);
  copy_ = separate ? compute(P) : master_;
  grads_ = master(P);
  m_ = master(P);
  v_ = master(P);
  inputs_ = p_.allocate(DType::int32, N);
  targets_ = p_.allocate(DType::int32, N);
  x_ = master((L + 1) * N * h);
  mid_ = master(L * N * h);
  ln1_mean_ = master(L * N);
  ln1_rstd_ = master(L * N);
  ln2_mean_ = master(L * N);
  ln2_rstd_ = master(L * N);
  lnf_mean_ = master(N);
  lnf_rstd_ = master(N);
  logits_ = master(N * V);
  losses_ = master(N);
  loss_ = master(1);
  scores_ = master(blocks);
  dx_ = master(N * h);
  dh_ = master(N * h);
  ln1_ = compute(L * N * h);
  qkv_ = compute(L * N * 3 * h);
  probs_ = compute(L * blocks);
  attn_ = compute(L * N * h);
  ln2_ = compute(L * N * h);
  fc1_ = compute(L * N * 4 * h);
  act_ = compute(L * N * 4 * h);
  lnf_ = compute(N * h);
  dlogits_ = compute(N * V);
  dscores_ = compute(blocks);
  dxc_ = separate ? compute(N * h) : dx_;
  dhc_ = separate ? compute(N * h) : dh_;
  dqkv_ = compute(N * 3 * h);
  dfc_ = compute(N * 4 * h);
}

View Model::master(Tensor t, std::int64_t l) const { return master_.at(layout_.offset(t, l), layout_.size(t)); }
View Model::copy(Tensor t, std::int64_t l) const { return copy_.at(layout_.offset(t, l), layout_.size(t)); }
View Model::grad(Tensor t, std::int64_t l) const { return grads_.at(layout_.offset(t, l), layout_.size(t)); }

void Model::reset_state() {
  if (!copy_.same(master_)) p_.convert(master_, copy_);
  for (const View& x : {grads_, m_, v_}) p_.zero(x);
}

void Model::initialise(std::uint64_t seed) {
  p_.initialise(layout_, seed, master_);
  reset_state();
}

void Model::load_weights(const std::vector<double>& values) {
  write_values(p_, values, master_);
  reset_state();
}

void Model::set_weight(std::int64_t i, double value) {
  write_values(p_, {value}, master_.at(i, 1));
  if (!copy_.same(master_)) p_.convert(master_.at(i, 1), copy_.at(i, 1));
}

// Row r of the micro-batch is position r mod seq of sequence r / seq: input token at that
// position, target the token after it.
void Model::set_tokens(const std::vector<std::int32_t>& tokens) {
  const std::int64_t S = shape_.seq, V = shape_.vocab;
  if (static_cast<std::int64_t>(tokens.size()) != token_count(shape_))
    throw std::invalid_argument("transformer: " + std::to_string(tokens.size()) + " tokens for a micro-batch of " +
                                std::to_string(token_count(shape_)));
  std::vector<std::int32_t> inputs(static_cast<std::size_t>(n_)), targets(static_cast<std::size_t>(n_));
  for (std::int64_t r = 0; r < n_; ++r) {
    const std::int32_t* row = tokens.data() + (r / S) * (S + 1) + r % S;
    if (row[0] < 0 || row[0] >= V || row[1] < 0 || row[1] >= V)
      throw std::invalid_argument("transformer: token id outside the vocabulary");
    inputs[static_cast<std::size_t>(r)] = row[0];
    targets[static_cast<std::size_t>(r)] = row[1];
  }
  p_.upload(inputs.data(), inputs_);
  p_.upload(targets.data(), targets_);
}

void Model::product(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, View a,
                    std::int64_t lda, View b, std::int64_t ldb, double beta, View c, std::int64_t ldc, Batch batch) {
  p_.matmul(Matmul{ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, batch});
}

void Model::forward() {
  const std::int64_t S = shape_.seq, h = shape_.hidden, V = shape_.vocab, N = n_, L = shape_.layers;
  p_.embedding_forward(S, h, inputs_, master(Tensor::token_embedding), master(Tensor::position_embedding),
                       per_layer(x_, 0, h));

  for (std::int64_t l = 0; l < L; ++l) {
    const View x = per_layer(x_, l, h), mid = per_layer(mid_, l, h), out = per_layer(x_, l + 1, h);
    const View ln1 = per_layer(ln1_, l, h), qkv = per_layer(qkv_, l, 3 * h), attn = per_layer(attn_, l, h);
    const View ln2 = per_layer(ln2_, l, h), fc1 = per_layer(fc1_, l, 4 * h), act = per_layer(act_, l, 4 * h);

    // Attention block: mid = x + Attn(LN1(x) Wqkv + bqkv) Wo + bo.
    p_.layernorm_forward(N, h, x, master(Tensor::ln1_gamma, l), master(Tensor::ln1_beta, l), ln1,
                         per_layer(ln1_mean_, l, 1), per_layer(ln1_rstd_, l, 1));
    product(false, false, N, 3 * h, h, 1, ln1, h, copy(Tensor::qkv_weight, l), 3 * h, 0, qkv, 3 * h);
    p_.add_bias(N, 3 * h, master(Tensor::qkv_bias, l), qkv);
    attention_forward(l);
    p_.residual_with_bias(N, h, x, master(Tensor::proj_bias, l), mid);
    product(false, false, N, h, h, 1, attn, h, copy(Tensor::proj_weight, l), h, 1, mid, h);

    // MLP block: out = mid + GELU(LN2(mid) W1 + b1) W2 + b2; fc1 keeps the pre-activation.
    p_.layernorm_forward(N, h, mid, master(Tensor::ln2_gamma, l), master(Tensor::ln2_beta, l), ln2,
                         per_layer(ln2_mean_, l, 1), per_layer(ln2_rstd_, l, 1));
    product(false, false, N, 4 * h, h, 1, ln2, h, copy(Tensor::fc1_weight, l), 4 * h, 0, fc1, 4 * h);
    p_.bias_gelu_forward(N, 4 * h, master(Tensor::fc1_bias, l), fc1, act);
    p_.residual_with_bias(N, h, mid, master(Tensor::fc2_bias, l), out);
    product(false, false, N, h, 4 * h, 1, act, 4 * h, copy(Tensor::fc2_weight, l), h, 1, out, h);
  }

  // Final layernorm, LM head, cross-entropy and its gradient, mean loss.
  p_.layernorm_forward(N, h, per_layer(x_, L, h), master(Tensor::final_gamma), master(Tensor::final_beta), lnf_, lnf_mean_,
                       lnf_rstd_);
  product(false, false, N, V, h, 1, lnf_, h, copy(Tensor::lm_head), V, 0, logits_, V);
  p_.cross_entropy(N, V, logits_, targets_, 1.0 / static_cast<double>(N), dlogits_, losses_);
  p_.mean(losses_, loss_);
}

// Per sequence, batched over its heads: scores = Q K^T / sqrt(d), P = causal softmax(scores),
// O = P V.
void Model::attention_forward(std::int64_t l) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, H = shape_.heads, d = shape_.head_dim();
  const std::int64_t B = shape_.micro_batch, SS = S * S;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto heads = static_cast<std::int32_t>(H);
  const View qkv = per_layer(qkv_, l, 3 * h), attn = per_layer(attn_, l, h);
  const View probs = probs_.at(l * B * H * SS, B * H * SS);
  for (std::int64_t b = 0; b < B; ++b) {
    const View q = qkv.from(b * S * 3 * h);
    product(false, true, S, S, d, scale, q, 3 * h, q.from(h), 3 * h, 0, scores_.from(b * H * SS), S, {heads, d, d, SS});
  }
  p_.causal_softmax_forward(B * H * S, S, scores_, probs);
  for (std::int64_t b = 0; b < B; ++b) {
    const View v = qkv.from(b * S * 3 * h + 2 * h);
    product(false, false, S, d, S, 1, probs.from(b * H * SS), S, v, 3 * h, 0, attn.from(b * S * h), h, {heads, SS, d, d});
  }
}

// Given dO (dhc_), per sequence and batched over heads: dP = dO V^T, dV = P^T dO; dS = softmax
// backward; dQ = dS K / sqrt(d), dK = dS^T Q / sqrt(d); all into dqkv_.
void Model::attention_backward(std::int64_t l) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, H = shape_.heads, d = shape_.head_dim();
  const std::int64_t B = shape_.micro_batch, SS = S * S;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  const auto heads = static_cast<std::int32_t>(H);
  const View qkv = per_layer(qkv_, l, 3 * h);
  const View probs = probs_.at(l * B * H * SS, B * H * SS);
  for (std::int64_t b = 0; b < B; ++b) {
    const View dout = dhc_.from(b * S * h);
    const View v = qkv.from(b * S * 3 * h + 2 * h);
    product(false, true, S, S, d, 1, dout, h, v, 3 * h, 0, scores_.from(b * H * SS), S, {heads, d, d, SS});
    product(true, false, S, d, S, 1, probs.from(b * H * SS), S, dout, h, 0, dqkv_.from(b * S * 3 * h + 2 * h), 3 * h,
            {heads, SS, d, d});
  }
  p_.causal_softmax_backward(B * H * S, S, probs, scores_, dscores_);
  for (std::int64_t b = 0; b < B; ++b) {
    const View ds = dscores_.from(b * H * SS);
    const View q = qkv.from(b * S * 3 * h);
    const View dq = dqkv_.from(b * S * 3 * h);
    product(false, false, S, d, S, scale, ds, S, q.from(h), 3 * h, 0, dq, 3 * h, {heads, SS, d, d});
    product(true, false, S, d, S, scale, ds, S, q, 3 * h, 0, dq.from(h), 3 * h, {heads, SS, d, d});
  }
}

void Model::backward(const std::function<void(std::size_t)>& ready) {
  const std::int64_t S = shape_.seq, h = shape_.hidden, V = shape_.vocab, N = n_, L = shape_.layers;
  std::size_t next = 0;
  auto done = [&] {
    if (ready) ready(next);
    ++next;
  };

  // LM head and final layernorm: dx = d loss / d x[L].
  product(true, false, h, V, N, 1, lnf_, h, dlogits_, V, 0, grad(Tensor::lm_head), V);
  product(false, true, N, h, V, 1, dlogits_, V, copy(Tensor::lm_head), V, 0, dh_, h);
  p_.zero(dx_);
  p_.layernorm_backward(N, h, per_layer(x_, L, h), master(Tensor::final_gamma), lnf_mean_, lnf_rstd_, dh_, dx_, dxc_,
                        grad(Tensor::final_gamma), grad(Tensor::final_beta));
  done();   // bucket "head"

  for (std::int64_t l = L - 1; l >= 0; --l) {
    const View x = per_layer(x_, l, h), mid = per_layer(mid_, l, h);
    const View ln1 = per_layer(ln1_, l, h), attn = per_layer(attn_, l, h), ln2 = per_layer(ln2_, l, h);
    const View fc1 = per_layer(fc1_, l, 4 * h), act = per_layer(act_, l, 4 * h);

    // MLP block; dx holds d loss / d out and becomes d loss / d mid (residual plus LN2 path).
    product(true, false, 4 * h, h, N, 1, act, 4 * h, dxc_, h, 0, grad(Tensor::fc2_weight, l), h);
    p_.column_sums(N, h, dx_, grad(Tensor::fc2_bias, l));
    product(false, true, N, 4 * h, h, 1, dxc_, h, copy(Tensor::fc2_weight, l), h, 0, dfc_, 4 * h);
    p_.gelu_backward(fc1, dfc_);
    product(true, false, h, 4 * h, N, 1, ln2, h, dfc_, 4 * h, 0, grad(Tensor::fc1_weight, l), 4 * h);
    p_.column_sums(N, 4 * h, dfc_, grad(Tensor::fc1_bias, l));
    product(false, true, N, h, 4 * h, 1, dfc_, 4 * h, copy(Tensor::fc1_weight, l), 4 * h, 0, dh_, h);
    p_.layernorm_backward(N, h, mid, master(Tensor::ln2_gamma, l), per_layer(ln2_mean_, l, 1), per_layer(ln2_rstd_, l, 1),
                          dh_, dx_, dxc_, grad(Tensor::ln2_gamma, l), grad(Tensor::ln2_beta, l));

    // Attention block; dx becomes d loss / d x[l].
    product(true, false, h, h, N, 1, attn, h, dxc_, h, 0, grad(Tensor::proj_weight, l), h);
    p_.column_sums(N, h, dx_, grad(Tensor::proj_bias, l));
    product(false, true, N, h, h, 1, dxc_, h, copy(Tensor::proj_weight, l), h, 0, dhc_, h);
    attention_backward(l);
    product(true, false, h, 3 * h, N, 1, ln1, h, dqkv_, 3 * h, 0, grad(Tensor::qkv_weight, l), 3 * h);
    p_.column_sums(N, 3 * h, dqkv_, grad(Tensor::qkv_bias, l));
    product(false, true, N, h, 3 * h, 1, dqkv_, 3 * h, copy(Tensor::qkv_weight, l), 3 * h, 0, dh_, h);
    p_.layernorm_backward(N, h, x, master(Tensor::ln1_gamma, l), per_layer(ln1_mean_, l, 1), per_layer(ln1_rstd_, l, 1),
                          dh_, dx_, dxc_, grad(Tensor::ln1_gamma, l), grad(Tensor::ln1_beta, l));
    done();   // bucket "layer l"
  }

  // Embeddings: dE[token] = sum of dx over its rows, dP[s] = sum over the sequences.
  p_.embedding_backward(S, h, inputs_, dx_, grad(Tensor::token_embedding), grad(Tensor::position_embedding));
  done();   // bucket "embeddings"
  if (next != buckets_.size())
    throw std::logic_error("transformer backward announced " + std::to_string(next) + " gradient buckets of " +
                           std::to_string(buckets_.size()));
}

void Model::optimizer_step(const transformer::AdamW& opt, std::int64_t step, double grad_scale) {
  AdamWScalars s{opt.lr, opt.beta1, opt.beta2, opt.eps, transformer::bias_correction(opt.beta1, step),
                 transformer::bias_correction(opt.beta2, step), 0.0, grad_scale};
  for (const DecayRun& run : runs_) {
    s.decay = run.decay ? opt.lr * opt.weight_decay : 0.0;
    p_.adamw(s, master_.at(run.first, run.count), grads_.at(run.first, run.count), m_.at(run.first, run.count),
             v_.at(run.first, run.count), copy_.at(run.first, run.count));
  }
}

double Model::loss() { return read_values(p_, loss_)[0]; }

}  // namespace rackqual::model
