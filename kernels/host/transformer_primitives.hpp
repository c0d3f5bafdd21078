#pragma once
// The host's primitives for the training step (kernels/model/primitives.hpp): matrix products
// through OpenBLAS, the rest OpenMP loops over kernels/common/transformer_math.hpp, in fp32 or
// fp64 (master and compute types equal), run at once on the calling thread's team.
#include <chrono>
#include <cstdint>
#include <vector>

#include "kernels/host/buffer.hpp"
#include "kernels/model/primitives.hpp"

namespace rackqual::host {

class TransformerPrimitives final : public model::Primitives {
 public:
  model::View allocate(DType type, std::int64_t count) override;
  void upload(const void* host, model::View dst) override;
  void download(model::View src, void* host) override;
  void zero(model::View x) override;
  void convert(model::View src, model::View dst) override;
  void synchronize() override {}

  void initialise(const transformer::Layout& layout, std::uint64_t seed, model::View weights) override;
  std::uint64_t hash(model::View x) override;

  void matmul(const model::Matmul& product) override;
  void embedding_forward(std::int64_t seq, std::int64_t h, model::View inputs, model::View token_table,
                         model::View position_table, model::View x) override;
  void embedding_backward(std::int64_t seq, std::int64_t h, model::View inputs, model::View dx, model::View dtoken,
                          model::View dposition) override;
  void add_bias(std::int64_t rows, std::int64_t cols, model::View bias, model::View y) override;
  void residual_with_bias(std::int64_t rows, std::int64_t cols, model::View x, model::View bias, model::View y) override;
  void column_sums(std::int64_t rows, std::int64_t cols, model::View x, model::View out) override;
  void layernorm_forward(std::int64_t rows, std::int64_t n, model::View x, model::View gamma, model::View beta,
                         model::View y, model::View mean, model::View rstd) override;
  void layernorm_backward(std::int64_t rows, std::int64_t n, model::View x, model::View gamma, model::View mean,
                          model::View rstd, model::View dy, model::View dx, model::View dx_copy, model::View dgamma,
                          model::View dbeta) override;
  void causal_softmax_forward(std::int64_t rows, std::int64_t seq, model::View scores, model::View probs) override;
  void causal_softmax_backward(std::int64_t rows, std::int64_t seq, model::View probs, model::View dprobs,
                               model::View dscores) override;
  void bias_gelu_forward(std::int64_t rows, std::int64_t cols, model::View bias, model::View u, model::View act) override;
  void gelu_backward(model::View u, model::View d) override;
  void cross_entropy(std::int64_t rows, std::int64_t vocab, model::View logits, model::View targets, double scale,
                     model::View dlogits, model::View losses) override;
  void mean(model::View x, model::View out) override;
  void adamw(const model::AdamWScalars& s, model::View w, model::View g, model::View m, model::View v,
             model::View copy) override;

  // Bytes allocated so far.
  std::size_t held() const { return held_; }

  void mark(int point) override;
  double seconds_between(int from, int to) override;

 private:
  std::vector<Array<unsigned char>> buffers_;
  std::size_t held_ = 0;   // bytes allocated
  std::vector<std::chrono::steady_clock::time_point> marks_;
};

}  // namespace rackqual::host
