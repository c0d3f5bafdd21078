#pragma once
// The GPT-style decoder both backends train: its shape and its FLOP count.
#include <cstdint>

namespace rackqual::transformer {

// Both backends train the same model on the same data: the weights from one seed on every
// rank, each rank's tokens from its own seed (token_seed + world rank).
inline constexpr std::uint64_t weight_seed = 0x5eed0f7a11ull;
inline constexpr std::uint64_t token_seed = 0x70c30000ull;
inline constexpr int verify_steps = 4;   // steps verify() trains after the first

struct Shape {
  std::int64_t hidden = 1024;
  std::int64_t heads = 16;
  std::int64_t seq = 512;
  std::int64_t micro_batch = 1;
  std::int64_t layers = 2;
  std::int64_t vocab = 8192;

  std::int64_t head_dim() const { return hidden / heads; }
  std::int64_t tokens() const { return micro_batch * seq; }
};

// Parameters that take part in matrix products: per layer the QKV (3h^2), output (h^2) and
// MLP (4h^2 + 4h^2) projections, then the LM head (h*V). Biases and layernorms are negligible.
inline double matmul_parameters(const Shape& s) {
  const double h = static_cast<double>(s.hidden);
  return static_cast<double>(s.layers) * 12.0 * h * h + h * static_cast<double>(s.vocab);
}

// Training FLOPs per token (REFERENCE.md): 6 per matmul parameter (2 forward, 4 backward) plus
// the attention score and value products, 12 * layers * hidden * seq forward and backward.
// The causal mask's skipped half is counted, as model-FLOP utilisation conventionally does.
inline double flops_per_token(const Shape& s) {
  return 6.0 * matmul_parameters(s) +
         12.0 * static_cast<double>(s.layers) * static_cast<double>(s.hidden) * static_cast<double>(s.seq);
}

// FLOPs of one training step on one rank (its micro-batch).
inline double flops_per_step(const Shape& s) { return flops_per_token(s) * static_cast<double>(s.tokens()); }

// Bytes one training step moves through device memory on one rank, estimated: each of the
// `parameters` weights read three times in the compute type (forward, and backward for the
// inputs' and the weights' gradients), its fp32 gradient written, and AdamW reading weight,
// gradient and both moments and writing weight and moments in fp32 (7 x 4 bytes); activations
// written forward and read backward, 34 x hidden + 5 x heads x seq values per token and layer
// (Korthikanti et al. 2022, without recomputation).
inline double memory_bytes_per_step(const Shape& s, double parameters, int compute_bytes) {
  const double per_parameter = 3.0 * compute_bytes + 4.0 + 7.0 * 4.0;
  const double activations = static_cast<double>(s.tokens()) * static_cast<double>(s.layers) *
                             (34.0 * static_cast<double>(s.hidden) + 5.0 * static_cast<double>(s.heads * s.seq));
  return parameters * per_parameter + 2.0 * activations * compute_bytes;
}

// Bytes one rank holds to train the shape: what the model (kernels/model/model.cpp) allocates.
// The fp32 master weights, their gradients and AdamW's two moments (4 x P); a copy of the weights
// in the compute type where it is narrower; activations kept for the backward pass, per layer
// (L) and token (N): the residual stream (x, mid: 2h + h), the layernorm outputs and statistics,
// QKV (3h), attention output (h), the MLP (4h + 4h) and the attention probabilities (heads x
// seq per token); the logits and their gradient (N x V each); one layer's scores and their
// gradient; the backward pass's scratch; the gradient in the exchange type where it differs.
// Counted in doubles: a shape too large to run must not overflow its own estimate.
inline double resident_bytes(const Shape& s, int compute_bytes, int exchange_bytes) {
  const double h = static_cast<double>(s.hidden), L = static_cast<double>(s.layers), V = static_cast<double>(s.vocab),
               S = static_cast<double>(s.seq), N = static_cast<double>(s.tokens());
  const double P = (V + S) * h + L * (12.0 * h * h + 13.0 * h) + 2.0 * h + h * V;   // Layout::total()
  const double scores = static_cast<double>(s.micro_batch) * static_cast<double>(s.heads) * S * S;
  const bool separate = compute_bytes != 4;
  const double master = 4.0 * P + (L + 1) * N * h + L * N * h + 4.0 * L * N + 2.0 * N + N * V + N + 1 + scores +
                        2.0 * N * h;
  const double compute = (separate ? P : 0) + L * N * h * (1 + 3 + 1 + 1 + 4 + 4) + L * scores + N * h + N * V + scores +
                         (separate ? 2.0 * N * h : 0) + 3.0 * N * h + 4.0 * N * h;
  const double exchange = exchange_bytes != 4 ? P * exchange_bytes : 0;
  return 4.0 * master + compute_bytes * compute + 4.0 * 2.0 * N + exchange;
}

}  // namespace rackqual::transformer
