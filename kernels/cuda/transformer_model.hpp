#pragma once
// The GPT-style decoder on a GPU: the same model as kernels/host/transformer_model.hpp (layout,
// initialisation, forward, loss, backward, AdamW), with cuBLASLt products and CUDA kernels.
// Pure compute on one device: no MPI and no NCCL; the caller all-reduces the gradients, told
// by backward() as each bucket of them is complete.
//
// Precision: weights are kept in fp32 (the master copy AdamW updates) and, for bf16, also as a
// bf16 copy that the products read. Products take bf16 (or fp32) operands and accumulate in
// fp32. The residual stream, layernorm statistics, logits, loss and every parameter gradient
// are fp32; the weight gradients come out of the products in fp32 directly.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"

namespace rackqual::cuda {

enum class Precision { fp32, bf16 };

class TransformerModel {
 public:
  // Device memory the model allocates at this shape (weights, optimizer state, activations,
  // scratch and the cuBLASLt workspace).
  static std::size_t device_bytes(const transformer::Shape& shape, Precision precision);
  // On the current device; throws std::invalid_argument on a bad shape.
  static std::unique_ptr<TransformerModel> create(const transformer::Shape& shape, Precision precision,
                                                  cublasLtHandle_t lt, const cudaDeviceProp& device);
  virtual ~TransformerModel() = default;

  const transformer::Layout& layout() const { return layout_; }

  // Every call below enqueues work on `stream`; those that return data wait for it.

  // Weights from transformer::initial_weight, zero optimizer state, then waits.
  virtual void initialise(std::uint64_t seed, cudaStream_t stream) = 0;
  // The micro-batch: host::token_count(shape) ids (rows of seq + 1); copies and waits.
  virtual void set_tokens(const std::int32_t* tokens, cudaStream_t stream) = 0;
  // Forward pass and mean cross-entropy (read it with loss()).
  virtual void forward(cudaStream_t stream) = 0;
  // Called as soon as the gradients [first, first + count) of the flat buffer are enqueued:
  // the final layernorm and LM head, then each layer from the last, then the embeddings.
  using GradientsReady = std::function<void(std::int64_t first, std::int64_t count)>;
  // Gradient of the last forward()'s loss with respect to every parameter, into gradients().
  virtual void backward(cudaStream_t stream, const GradientsReady& ready) = 0;
  // One AdamW step (step counts from 1) on gradient * grad_scale; refreshes the compute copy.
  virtual void optimizer_step(const transformer::AdamW& opt, std::int64_t step, float grad_scale, cudaStream_t stream) = 0;
  // Sets one master weight and its compute copy; waits.
  virtual void set_weight(std::int64_t i, float value, cudaStream_t stream) = 0;

  float* gradients() const { return grads_; }            // fp32, layout().total()
  const float* weights() const { return weights_; }      // fp32 master weights
  float loss(cudaStream_t stream) const;                 // the last forward()'s loss; waits

 protected:
  explicit TransformerModel(const transformer::Shape& shape) : layout_(shape) {}
  transformer::Layout layout_;
  float* weights_ = nullptr;
  float* grads_ = nullptr;
  float* loss_ = nullptr;
};

// One forward and backward pass of a freshly initialised model on the current device, with its
// own stream and cuBLASLt handle: returns the loss and copies the fp32 gradients
// (layout.total() elements) to `grads`. For tests against the host model.
float gradients_once(const transformer::Shape& shape, Precision precision, std::uint64_t seed,
                     const std::int32_t* tokens, float* grads);

}  // namespace rackqual::cuda
