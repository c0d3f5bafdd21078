#pragma once
// The cuda backend's primitives for the training step (kernels/model/primitives.hpp): cuBLASLt
// products and CUDA kernels, enqueued on one stream. The master type is fp32; the compute type
// fp32 or bf16 (products read bf16 operands and accumulate in fp32). The clock is CUDA events.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/device.hpp"
#include "kernels/cuda/transformer_matmul.hpp"
#include "kernels/model/primitives.hpp"

namespace rackqual::cuda {

class TransformerPrimitives final : public model::Primitives {
 public:
  // On the current device (`device` its index), enqueuing on `stream` with cuBLASLt handle `lt`;
  // `one_order`: products that split no k, for a step whose gradients are voted bit for bit.
  TransformerPrimitives(int device, const cudaDeviceProp& properties, cudaStream_t stream, cublasLtHandle_t lt,
                        bool one_order = false);
  // On the current device with a stream and a cuBLASLt handle of its own (for tests).
  static std::unique_ptr<TransformerPrimitives> standalone();
  ~TransformerPrimitives() override;
  TransformerPrimitives(const TransformerPrimitives&) = delete;
  TransformerPrimitives& operator=(const TransformerPrimitives&) = delete;

  cudaStream_t stream() const { return stream_; }

  model::View allocate(DType type, std::int64_t count) override;
  void upload(const void* host, model::View dst) override;
  void download(model::View src, void* host) override;
  void zero(model::View x) override;
  void convert(model::View src, model::View dst) override;
  void synchronize() override;

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

  void mark(int point) override;
  double seconds_between(int from, int to) override;

 private:
  // Grid of a grid-stride kernel over n elements.
  int blocks_for(std::int64_t n) const;

  int device_;
  std::string device_name_;
  int blocks_;   // grid_blocks() of the device
  cudaStream_t stream_;
  cublasLtHandle_t lt_;
  bool owns_stream_and_lt_ = false;
  std::unique_ptr<Matmuls> matmuls_;
  std::vector<DeviceArray<unsigned char>> buffers_;
  std::size_t held_ = 0;   // bytes allocated
  std::vector<std::unique_ptr<Event>> marks_;
};

}  // namespace rackqual::cuda
