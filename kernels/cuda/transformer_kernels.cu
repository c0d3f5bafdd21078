// The transformer's element-wise and row-wise kernels behind the cuda primitives
// (kernels/cuda/transformer_primitives.cpp), and their launches. T is the compute type (float or bf16):
// GEMM operands are T; the residual stream, layernorm statistics, logits, gradients, master
// weights and optimizer state are fp32, and all arithmetic here is fp32.
#include "kernels/cuda/transformer_kernels.hpp"

#include <cuda_bf16.h>

#include <cstdint>
#include <type_traits>

#include "kernels/common/transformer_math.hpp"
#include "kernels/cuda/grid.hpp"

namespace rackqual::cuda::kernels {

// ---------------------------------------------------------------------------------------------
// Conversions and reductions.

__device__ inline float to_float(float x) { return x; }
__device__ inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T>
__device__ T from_float(float x) {
  if constexpr (std::is_same_v<T, float>) return x;
  else return __float2bfloat16_rn(x);
}

__device__ inline float warp_sum(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
__device__ inline float warp_max(float v) {
  for (int offset = 16; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum (or max) over the block, returned to every thread; blockDim.x is a multiple of 32.
template <bool max>
__device__ float block_reduce(float v) {
  __shared__ float partial[32];
  v = max ? warp_max(v) : warp_sum(v);
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();   // an earlier call may still be reading partial
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  const float identity = max ? -INFINITY : 0.0f;
  v = lane < blockDim.x / 32 ? partial[lane] : identity;
  return max ? warp_max(v) : warp_sum(v);
}
__device__ inline float block_sum(float v) { return block_reduce<false>(v); }
__device__ inline float block_max(float v) { return block_reduce<true>(v); }

// Row kernels: one block of row_threads per row. Column kernels: column_threads.x columns by
// column_threads.y row slices per block, reduced in shared memory.
inline constexpr int row_threads = 256;
inline constexpr int warp_rows = threads_per_block / 32;   // rows per block for one-warp-per-row kernels
inline constexpr dim3 column_threads{32, 16};

// ---------------------------------------------------------------------------------------------
// Weights.

// w[i] = the initial value of element i of the flat buffer, as the host computes it.
__global__ void initialise(transformer::Layout layout, std::uint64_t seed, float* w) {
  for (std::int64_t i = first_index(); i < layout.total(); i += grid_size())
    w[i] = transformer::initial_weight<float>(layout, i, seed);
}

// y = x in y's type (fp32 and bf16 either way; to bf16 rounded to nearest even).
template <typename From, typename To>
__global__ void convert(std::int64_t n, const From* x, To* y) {
  for (std::int64_t i = first_index(); i < n; i += grid_size()) y[i] = from_float<To>(to_float(x[i]));
}

// AdamW over n elements with one decay, on the gradient times grad_scale (1 / ranks); writes
// the compute copy too when there is one.
template <typename T>
__global__ void adamw(std::int64_t n, float* w, const float* g, float* m, float* v, T* copy, float grad_scale, float lr,
                      float beta1, float beta2, float eps, float c1, float c2, float decay) {
  for (std::int64_t i = first_index(); i < n; i += grid_size()) {
    float wi = w[i], mi = m[i], vi = v[i];
    transformer::adamw_update(wi, mi, vi, g[i] * grad_scale, lr, beta1, beta2, eps, c1, c2, decay);
    w[i] = wi;
    m[i] = mi;
    v[i] = vi;
    if (copy) copy[i] = from_float<T>(wi);
  }
}

// ---------------------------------------------------------------------------------------------
// Embeddings.

// x[r] = E[input r] + P[r mod seq].
__global__ void embed(std::int64_t rows, std::int64_t seq, std::int64_t h, const std::int32_t* inputs, const float* E,
                      const float* P, float* x) {
  for (std::int64_t i = first_index(); i < rows * h; i += grid_size()) {
    const std::int64_t r = i / h, j = i % h;
    x[i] = E[static_cast<std::int64_t>(inputs[r]) * h + j] + P[(r % seq) * h + j];
  }
}

// dE[input r] += dx[r] (dE zeroed first; repeated tokens add atomically).
__global__ void embed_backward_tokens(std::int64_t rows, std::int64_t h, const std::int32_t* inputs, const float* dx,
                                      float* dE) {
  for (std::int64_t i = first_index(); i < rows * h; i += grid_size()) {
    const std::int64_t r = i / h, j = i % h;
    atomicAdd(&dE[static_cast<std::int64_t>(inputs[r]) * h + j], dx[i]);
  }
}

// dP[s] = sum over the micro-batch's sequences b of dx[b * seq + s].
__global__ void embed_backward_positions(std::int64_t sequences, std::int64_t seq, std::int64_t h, const float* dx,
                                         float* dP) {
  for (std::int64_t i = first_index(); i < seq * h; i += grid_size()) {
    float sum = 0;
    for (std::int64_t b = 0; b < sequences; ++b) sum += dx[b * seq * h + i];
    dP[i] = sum;
  }
}

// ---------------------------------------------------------------------------------------------
// Bias, residual and GELU.

// y[r][j] += bias[j].
template <typename T>
__global__ void add_bias(std::int64_t rows, std::int64_t cols, const float* bias, T* y) {
  for (std::int64_t i = first_index(); i < rows * cols; i += grid_size()) y[i] = from_float<T>(to_float(y[i]) + bias[i % cols]);
}

// y[r][j] = x[r][j] + bias[j]: the residual stream plus a bias, which a GEMM with beta = 1 then adds to.
__global__ void residual_with_bias(std::int64_t rows, std::int64_t cols, const float* x, const float* bias, float* y) {
  for (std::int64_t i = first_index(); i < rows * cols; i += grid_size()) y[i] = x[i] + bias[i % cols];
}

// u = fc1 + bias (kept in place for the backward pass), act = GELU(u).
template <typename T>
__global__ void bias_gelu(std::int64_t rows, std::int64_t cols, const float* bias, T* u, T* act) {
  for (std::int64_t i = first_index(); i < rows * cols; i += grid_size()) {
    const float ui = to_float(u[i]) + bias[i % cols];
    u[i] = from_float<T>(ui);
    act[i] = from_float<T>(transformer::gelu(ui));
  }
}

// d *= GELU'(u).
template <typename T>
__global__ void gelu_backward(std::int64_t n, const T* u, T* d) {
  for (std::int64_t i = first_index(); i < n; i += grid_size())
    d[i] = from_float<T>(to_float(d[i]) * transformer::gelu_derivative(to_float(u[i])));
}

// ---------------------------------------------------------------------------------------------
// Layernorm, one block per row: y = gamma * (x - mean) * rstd + beta.

template <typename T>
__global__ void layernorm_forward(std::int64_t n, const float* x, const float* gamma, const float* beta, T* y, float* mean,
                                  float* rstd) {
  const std::int64_t r = blockIdx.x;
  const float* xr = x + r * n;
  float sum = 0;
  for (std::int64_t j = threadIdx.x; j < n; j += blockDim.x) sum += xr[j];
  const float mu = block_sum(sum) / static_cast<float>(n);
  float sq = 0;
  for (std::int64_t j = threadIdx.x; j < n; j += blockDim.x) sq += (xr[j] - mu) * (xr[j] - mu);
  const float s = 1.0f / sqrtf(block_sum(sq) / static_cast<float>(n) + static_cast<float>(transformer::layernorm_eps));
  for (std::int64_t j = threadIdx.x; j < n; j += blockDim.x) y[r * n + j] = from_float<T>(gamma[j] * ((xr[j] - mu) * s) + beta[j]);
  if (threadIdx.x == 0) {
    mean[r] = mu;
    rstd[r] = s;
  }
}

// dx += rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gamma, xhat = (x - mean) * rstd;
// copy = dx in the compute type, for the products that read it next.
template <typename T>
__global__ void layernorm_backward(std::int64_t n, const float* x, const float* gamma, const float* mean, const float* rstd,
                                   const float* dy, float* dx, T* copy) {
  const std::int64_t r = blockIdx.x;
  const float* xr = x + r * n;
  const float* dyr = dy + r * n;
  const float mu = mean[r], s = rstd[r];
  float sum_g = 0, sum_gx = 0;
  for (std::int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float g = dyr[j] * gamma[j];
    sum_g += g;
    sum_gx += g * (xr[j] - mu) * s;
  }
  const float mean_g = block_sum(sum_g) / static_cast<float>(n);
  const float mean_gx = block_sum(sum_gx) / static_cast<float>(n);
  for (std::int64_t j = threadIdx.x; j < n; j += blockDim.x) {
    const float d = dx[r * n + j] + s * (dyr[j] * gamma[j] - mean_g - (xr[j] - mu) * s * mean_gx);
    dx[r * n + j] = d;
    copy[r * n + j] = from_float<T>(d);
  }
}

// Sums over rows of the column_threads.y slices of one block's columns, in shared memory.
template <int values>
__device__ void column_block_store(float (&sums)[values], std::int64_t j, std::int64_t cols, float* const (&out)[values]) {
  __shared__ float partial[values][16][33];
  for (int k = 0; k < values; ++k) partial[k][threadIdx.y][threadIdx.x] = sums[k];
  __syncthreads();
  if (threadIdx.y == 0 && j < cols)
    for (int k = 0; k < values; ++k) {
      float total = 0;
      for (unsigned y = 0; y < blockDim.y; ++y) total += partial[k][y][threadIdx.x];
      out[k][j] = total;
    }
}

// dgamma[j] = sum_r dy * xhat, dbeta[j] = sum_r dy.
__global__ void layernorm_parameter_grads(std::int64_t rows, std::int64_t n, const float* x, const float* mean,
                                          const float* rstd, const float* dy, float* dgamma, float* dbeta) {
  const std::int64_t j = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  float sums[2] = {0, 0};
  if (j < n)
    for (std::int64_t r = threadIdx.y; r < rows; r += blockDim.y) {
      sums[0] += dy[r * n + j] * ((x[r * n + j] - mean[r]) * rstd[r]);
      sums[1] += dy[r * n + j];
    }
  float* const out[2] = {dgamma, dbeta};
  column_block_store<2>(sums, j, n, out);
}

// out[j] = sum over rows of x[r][j]: the gradient of a bias added to every row.
template <typename X>
__global__ void column_sums(std::int64_t rows, std::int64_t cols, const X* x, float* out) {
  const std::int64_t j = std::int64_t{blockIdx.x} * blockDim.x + threadIdx.x;
  float sums[1] = {0};
  if (j < cols)
    for (std::int64_t r = threadIdx.y; r < rows; r += blockDim.y) sums[0] += to_float(x[r * cols + j]);
  float* const out_[1] = {out};
  column_block_store<1>(sums, j, cols, out_);
}

// ---------------------------------------------------------------------------------------------
// Causal softmax, one warp per row of seq scores; row q of each seq x seq block attends to 0..q.

// probs = causal softmax(scores); the scores already carry the 1 / sqrt(head_dim) scale.
template <typename T>
__global__ void causal_softmax(std::int64_t rows, std::int64_t seq, const float* scores, T* probs) {
  const std::int64_t r = std::int64_t{blockIdx.x} * warp_rows + threadIdx.x / 32;
  if (r >= rows) return;
  const unsigned lane = threadIdx.x % 32;
  const std::int64_t valid = r % seq + 1;
  const float* z = scores + r * seq;
  float peak = -INFINITY;
  for (std::int64_t j = lane; j < valid; j += 32) peak = fmaxf(peak, z[j]);
  peak = warp_max(peak);
  float sum = 0;
  for (std::int64_t j = lane; j < valid; j += 32) sum += expf(z[j] - peak);
  const float inv = 1.0f / warp_sum(sum);
  for (std::int64_t j = lane; j < seq; j += 32) probs[r * seq + j] = from_float<T>(j < valid ? expf(z[j] - peak) * inv : 0.0f);
}

// ds = p * (dp - sum_j p_j dp_j) on the unmasked entries, 0 on the masked ones.
template <typename T>
__global__ void causal_softmax_backward(std::int64_t rows, std::int64_t seq, const T* probs, const float* dp, T* ds) {
  const std::int64_t r = std::int64_t{blockIdx.x} * warp_rows + threadIdx.x / 32;
  if (r >= rows) return;
  const unsigned lane = threadIdx.x % 32;
  const std::int64_t valid = r % seq + 1;
  const T* p = probs + r * seq;
  const float* d = dp + r * seq;
  float dot = 0;
  for (std::int64_t j = lane; j < valid; j += 32) dot += to_float(p[j]) * d[j];
  dot = warp_sum(dot);
  for (std::int64_t j = lane; j < seq; j += 32)
    ds[r * seq + j] = from_float<T>(j < valid ? to_float(p[j]) * (d[j] - dot) : 0.0f);
}

// ---------------------------------------------------------------------------------------------
// Cross-entropy, one block per row of vocab logits: loss[r] = -log softmax(z)[target] and
// dlogits = scale * (softmax(z) - onehot(target)), scale = 1 / rows (the mean's gradient).

template <typename T>
__global__ void cross_entropy(std::int64_t vocab, const float* logits, const std::int32_t* targets, float scale, T* dlogits,
                              float* loss) {
  const std::int64_t r = blockIdx.x;
  const float* z = logits + r * vocab;
  const std::int64_t target = targets[r];
  float peak = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < vocab; j += blockDim.x) peak = fmaxf(peak, z[j]);
  peak = block_max(peak);
  float sum = 0;
  for (std::int64_t j = threadIdx.x; j < vocab; j += blockDim.x) sum += expf(z[j] - peak);
  sum = block_sum(sum);
  const float inv = scale / sum;
  for (std::int64_t j = threadIdx.x; j < vocab; j += blockDim.x)
    dlogits[r * vocab + j] = from_float<T>(expf(z[j] - peak) * inv - (j == target ? scale : 0.0f));
  if (threadIdx.x == 0) loss[r] = logf(sum) + peak - z[target];
}

// out = mean of n values (one block).
__global__ void mean(std::int64_t n, const float* x, float* out) {
  float sum = 0;
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += x[i];
  sum = block_sum(sum);
  if (threadIdx.x == 0) *out = sum / static_cast<float>(n);
}

}  // namespace rackqual::cuda::kernels

namespace rackqual::cuda {
namespace {

unsigned rows_grid(std::int64_t rows) { return static_cast<unsigned>(rows); }
unsigned warp_rows_grid(std::int64_t rows) {
  return static_cast<unsigned>((rows + kernels::warp_rows - 1) / kernels::warp_rows);
}
unsigned columns_grid(std::int64_t cols) {
  return static_cast<unsigned>((cols + kernels::column_threads.x - 1) / kernels::column_threads.x);
}

}  // namespace

void launch_initialise(int blocks, const transformer::Layout& layout, std::uint64_t seed, float* w, cudaStream_t stream) {
  kernels::initialise<<<blocks, threads_per_block, 0, stream>>>(layout, seed, w);
}

template <typename From, typename To>
void launch_convert(int blocks, std::int64_t n, const From* x, To* y, cudaStream_t stream) {
  kernels::convert<From, To><<<blocks, threads_per_block, 0, stream>>>(n, x, y);
}

template <typename T>
void launch_adamw(int blocks, std::int64_t n, float* w, const float* g, float* m, float* v, T* copy, float grad_scale, float lr,
                  float beta1, float beta2, float eps, float c1, float c2, float decay, cudaStream_t stream) {
  kernels::adamw<T><<<blocks, threads_per_block, 0, stream>>>(n, w, g, m, v, copy, grad_scale, lr, beta1, beta2, eps, c1, c2,
                                                              decay);
}

void launch_embed(int blocks, std::int64_t rows, std::int64_t seq, std::int64_t h, const std::int32_t* inputs, const float* E,
                  const float* P, float* x, cudaStream_t stream) {
  kernels::embed<<<blocks, threads_per_block, 0, stream>>>(rows, seq, h, inputs, E, P, x);
}

void launch_embed_backward_tokens(int blocks, std::int64_t rows, std::int64_t h, const std::int32_t* inputs, const float* dx,
                                  float* dE, cudaStream_t stream) {
  kernels::embed_backward_tokens<<<blocks, threads_per_block, 0, stream>>>(rows, h, inputs, dx, dE);
}

void launch_embed_backward_positions(int blocks, std::int64_t sequences, std::int64_t seq, std::int64_t h, const float* dx,
                                     float* dP, cudaStream_t stream) {
  kernels::embed_backward_positions<<<blocks, threads_per_block, 0, stream>>>(sequences, seq, h, dx, dP);
}

template <typename T>
void launch_add_bias(int blocks, std::int64_t rows, std::int64_t cols, const float* bias, T* y, cudaStream_t stream) {
  kernels::add_bias<T><<<blocks, threads_per_block, 0, stream>>>(rows, cols, bias, y);
}

void launch_residual_with_bias(int blocks, std::int64_t rows, std::int64_t cols, const float* x, const float* bias, float* y,
                               cudaStream_t stream) {
  kernels::residual_with_bias<<<blocks, threads_per_block, 0, stream>>>(rows, cols, x, bias, y);
}

template <typename T>
void launch_bias_gelu(int blocks, std::int64_t rows, std::int64_t cols, const float* bias, T* u, T* act, cudaStream_t stream) {
  kernels::bias_gelu<T><<<blocks, threads_per_block, 0, stream>>>(rows, cols, bias, u, act);
}

template <typename T>
void launch_gelu_backward(int blocks, std::int64_t n, const T* u, T* d, cudaStream_t stream) {
  kernels::gelu_backward<T><<<blocks, threads_per_block, 0, stream>>>(n, u, d);
}

template <typename T>
void launch_layernorm_forward(std::int64_t rows, std::int64_t n, const float* x, const float* gamma, const float* beta, T* y,
                              float* mean, float* rstd, cudaStream_t stream) {
  kernels::layernorm_forward<T><<<rows_grid(rows), kernels::row_threads, 0, stream>>>(n, x, gamma, beta, y, mean, rstd);
}

template <typename T>
void launch_layernorm_backward(std::int64_t rows, std::int64_t n, const float* x, const float* gamma, const float* mean,
                               const float* rstd, const float* dy, float* dx, T* copy, cudaStream_t stream) {
  kernels::layernorm_backward<T><<<rows_grid(rows), kernels::row_threads, 0, stream>>>(n, x, gamma, mean, rstd, dy, dx, copy);
}

void launch_layernorm_parameter_grads(std::int64_t rows, std::int64_t n, const float* x, const float* mean, const float* rstd,
                                      const float* dy, float* dgamma, float* dbeta, cudaStream_t stream) {
  kernels::layernorm_parameter_grads<<<columns_grid(n), kernels::column_threads, 0, stream>>>(rows, n, x, mean, rstd, dy, dgamma,
                                                                                            dbeta);
}

template <typename X>
void launch_column_sums(std::int64_t rows, std::int64_t cols, const X* x, float* out, cudaStream_t stream) {
  kernels::column_sums<X><<<columns_grid(cols), kernels::column_threads, 0, stream>>>(rows, cols, x, out);
}

template <typename T>
void launch_causal_softmax(std::int64_t rows, std::int64_t seq, const float* scores, T* probs, cudaStream_t stream) {
  kernels::causal_softmax<T><<<warp_rows_grid(rows), threads_per_block, 0, stream>>>(rows, seq, scores, probs);
}

template <typename T>
void launch_causal_softmax_backward(std::int64_t rows, std::int64_t seq, const T* probs, const float* dp, T* ds,
                                    cudaStream_t stream) {
  kernels::causal_softmax_backward<T><<<warp_rows_grid(rows), threads_per_block, 0, stream>>>(rows, seq, probs, dp, ds);
}

template <typename T>
void launch_cross_entropy(std::int64_t rows, std::int64_t vocab, const float* logits, const std::int32_t* targets, float scale,
                          T* dlogits, float* loss, cudaStream_t stream) {
  kernels::cross_entropy<T><<<rows_grid(rows), kernels::row_threads, 0, stream>>>(vocab, logits, targets, scale, dlogits, loss);
}

void launch_mean(std::int64_t n, const float* x, float* out, cudaStream_t stream) {
  kernels::mean<<<1, kernels::row_threads, 0, stream>>>(n, x, out);
}

// Every launch for one compute type T.
#define RACKQUAL_COMPUTE_TYPE(T)                                                                                                \
  template void launch_adamw<T>(int, std::int64_t, float*, const float*, float*, float*, T*, float, float, float, float, float, \
                                float, float, float, cudaStream_t);                                                             \
  template void launch_add_bias<T>(int, std::int64_t, std::int64_t, const float*, T*, cudaStream_t);                            \
  template void launch_bias_gelu<T>(int, std::int64_t, std::int64_t, const float*, T*, T*, cudaStream_t);                       \
  template void launch_gelu_backward<T>(int, std::int64_t, const T*, T*, cudaStream_t);                                         \
  template void launch_layernorm_forward<T>(std::int64_t, std::int64_t, const float*, const float*, const float*, T*, float*,   \
                                            float*, cudaStream_t);                                                              \
  template void launch_layernorm_backward<T>(std::int64_t, std::int64_t, const float*, const float*, const float*,              \
                                             const float*, const float*, float*, T*, cudaStream_t);                             \
  template void launch_column_sums<T>(std::int64_t, std::int64_t, const T*, float*, cudaStream_t);                              \
  template void launch_causal_softmax<T>(std::int64_t, std::int64_t, const float*, T*, cudaStream_t);                           \
  template void launch_causal_softmax_backward<T>(std::int64_t, std::int64_t, const T*, const float*, T*, cudaStream_t);        \
  template void launch_cross_entropy<T>(std::int64_t, std::int64_t, const float*, const std::int32_t*, float, T*, float*,       \
                                        cudaStream_t);

RACKQUAL_COMPUTE_TYPE(float)
RACKQUAL_COMPUTE_TYPE(__nv_bfloat16)
#undef RACKQUAL_COMPUTE_TYPE

template void launch_convert<float, __nv_bfloat16>(int, std::int64_t, const float*, __nv_bfloat16*, cudaStream_t);
template void launch_convert<__nv_bfloat16, float>(int, std::int64_t, const __nv_bfloat16*, float*, cudaStream_t);
template void launch_convert<float, float>(int, std::int64_t, const float*, float*, cudaStream_t);
template void launch_convert<__nv_bfloat16, __nv_bfloat16>(int, std::int64_t, const __nv_bfloat16*, __nv_bfloat16*,
                                                           cudaStream_t);

}  // namespace rackqual::cuda
