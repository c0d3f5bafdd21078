#pragma once
// Launches of the training step's kernels (transformer_kernels.cu), each queued on `stream` and
// unchecked (the caller asks cudaGetLastError()). T is the compute type, float or __nv_bfloat16;
// everything else is fp32. Grid-stride kernels take their grid (`blocks` blocks of
// threads_per_block threads); row, column and warp-per-row kernels size theirs from the shape.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace rackqual::transformer {
class Layout;   // kernels/common/transformer_math.hpp
}

namespace rackqual::cuda {

// Weights, conversions and the optimizer (grid-stride).
void launch_initialise(int blocks, const transformer::Layout& layout, std::uint64_t seed, float* w, cudaStream_t stream);
template <typename From, typename To>
void launch_convert(int blocks, std::int64_t n, const From* x, To* y, cudaStream_t stream);
template <typename T>
void launch_adamw(int blocks, std::int64_t n, float* w, const float* g, float* m, float* v, T* copy, float grad_scale, float lr,
                  float beta1, float beta2, float eps, float c1, float c2, float decay, cudaStream_t stream);

// Embeddings (grid-stride).
void launch_embed(int blocks, std::int64_t rows, std::int64_t seq, std::int64_t h, const std::int32_t* inputs, const float* E,
                  const float* P, float* x, cudaStream_t stream);
void launch_embed_backward_tokens(int blocks, std::int64_t rows, std::int64_t h, const std::int32_t* inputs, const float* dx,
                                  float* dE, cudaStream_t stream);
void launch_embed_backward_positions(int blocks, std::int64_t sequences, std::int64_t seq, std::int64_t h, const float* dx,
                                     float* dP, cudaStream_t stream);

// Bias, residual and GELU (grid-stride).
template <typename T>
void launch_add_bias(int blocks, std::int64_t rows, std::int64_t cols, const float* bias, T* y, cudaStream_t stream);
void launch_residual_with_bias(int blocks, std::int64_t rows, std::int64_t cols, const float* x, const float* bias, float* y,
                               cudaStream_t stream);
template <typename T>
void launch_bias_gelu(int blocks, std::int64_t rows, std::int64_t cols, const float* bias, T* u, T* act, cudaStream_t stream);
template <typename T>
void launch_gelu_backward(int blocks, std::int64_t n, const T* u, T* d, cudaStream_t stream);

// Layernorm: one block per row, then one thread per column for the parameters' gradients.
template <typename T>
void launch_layernorm_forward(std::int64_t rows, std::int64_t n, const float* x, const float* gamma, const float* beta, T* y,
                              float* mean, float* rstd, cudaStream_t stream);
template <typename T>
void launch_layernorm_backward(std::int64_t rows, std::int64_t n, const float* x, const float* gamma, const float* mean,
                               const float* rstd, const float* dy, float* dx, T* copy, cudaStream_t stream);
void launch_layernorm_parameter_grads(std::int64_t rows, std::int64_t n, const float* x, const float* mean, const float* rstd,
                                      const float* dy, float* dgamma, float* dbeta, cudaStream_t stream);
template <typename X>
void launch_column_sums(std::int64_t rows, std::int64_t cols, const X* x, float* out, cudaStream_t stream);

// Causal softmax, one warp per row.
template <typename T>
void launch_causal_softmax(std::int64_t rows, std::int64_t seq, const float* scores, T* probs, cudaStream_t stream);
template <typename T>
void launch_causal_softmax_backward(std::int64_t rows, std::int64_t seq, const T* probs, const float* dp, T* ds,
                                    cudaStream_t stream);

// Cross-entropy, one block per row; the mean of n values, one block.
template <typename T>
void launch_cross_entropy(std::int64_t rows, std::int64_t vocab, const float* logits, const std::int32_t* targets, float scale,
                          T* dlogits, float* loss, cudaStream_t stream);
void launch_mean(std::int64_t n, const float* x, float* out, cudaStream_t stream);

}  // namespace rackqual::cuda
