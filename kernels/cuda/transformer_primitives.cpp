// The cuda primitives: each call one cuBLASLt product or one or two kernel launches on the
// stream (transformer_kernels.cu), chosen by the views' element types (master fp32; compute
// fp32 or bf16).
#include "kernels/cuda/transformer_primitives.hpp"

#include <cuda_bf16.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/common/hash.hpp"
#include "kernels/cuda/check.hpp"
#include "kernels/cuda/transformer_kernels.hpp"
#include "kernels/model/out_of_memory.hpp"

namespace rackqual::cuda {

using model::View;

namespace {

template <typename T>
struct Tag {
  using type = T;
};

template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::fp32;
  else if constexpr (std::is_same_v<T, __nv_bfloat16>) return DType::bf16;
  else return DType::int32;
}

template <typename T>
constexpr cudaDataType_t data_type() {
  if constexpr (std::is_same_v<T, float>) return CUDA_R_32F;
  else return CUDA_R_16BF;
}

// The view's elements as T; throws when the view holds another type.
template <typename T>
T* as(View v) {
  return model::elements<T>(v, dtype_of<T>(), "cuda backend");
}

// Calls f with Tag<float> or Tag<__nv_bfloat16>, as the view's type says.
template <typename F>
void compute_type(View v, F&& f) {
  if (v.type == DType::fp32) f(Tag<float>{});
  else if (v.type == DType::bf16) f(Tag<__nv_bfloat16>{});
  else
    throw std::invalid_argument(std::string("cuda backend: the training step computes in fp32 or bf16, not ") +
                                std::string(to_string(v.type)));
}

void launched() { RACKQUAL_CHECK(cudaGetLastError()); }

}  // namespace

TransformerPrimitives::TransformerPrimitives(int device, const cudaDeviceProp& properties, cudaStream_t stream,
                                             cublasLtHandle_t lt, bool one_order)
    : device_(device), device_name_(properties.name), blocks_(grid_blocks(properties)), stream_(stream), lt_(lt) {
  // The products' workspace comes from allocate(), so that running out of memory there reads
  // like any other allocation.
  const View workspace = allocate(DType::fp32, static_cast<std::int64_t>(Matmuls::workspace_bytes / sizeof(float)));
  matmuls_ = std::make_unique<Matmuls>(lt, workspace.data, one_order);
}

std::unique_ptr<TransformerPrimitives> TransformerPrimitives::standalone() {
  int device = 0;
  RACKQUAL_CHECK(cudaGetDevice(&device));
  cudaDeviceProp properties{};
  RACKQUAL_CHECK(cudaGetDeviceProperties(&properties, device));
  cudaStream_t stream = nullptr;
  RACKQUAL_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cublasLtHandle_t lt = nullptr;
  const cublasStatus_t rc = cublasLtCreate(&lt);
  if (rc != CUBLAS_STATUS_SUCCESS) cudaStreamDestroy(stream);
  RACKQUAL_CHECK(rc);
  try {
    auto primitives = std::make_unique<TransformerPrimitives>(device, properties, stream, lt);
    primitives->owns_stream_and_lt_ = true;
    return primitives;
  } catch (...) {
    cublasLtDestroy(lt);
    cudaStreamDestroy(stream);
    throw;
  }
}

TransformerPrimitives::~TransformerPrimitives() {
  matmuls_.reset();
  buffers_.clear();
  marks_.clear();
  if (owns_stream_and_lt_) {
    cublasLtDestroy(lt_);
    cudaStreamDestroy(stream_);
  }
}

int TransformerPrimitives::blocks_for(std::int64_t n) const {
  return static_cast<int>(std::clamp<std::int64_t>((n + threads_per_block - 1) / threads_per_block, 1, blocks_));
}

View TransformerPrimitives::allocate(DType type, std::int64_t count) {
  const std::size_t bytes = static_cast<std::size_t>(count) * model::size_of(type);
  void* p = nullptr;
  const cudaError_t rc = cudaMalloc(&p, bytes == 0 ? 1 : bytes);
  if (rc == cudaErrorMemoryAllocation) {
    static_cast<void>(cudaGetLastError());   // not sticky: clear it, the device stays usable
    throw model::OutOfMemory("GPU " + std::to_string(device_) + " (" + device_name_ + ")", bytes, held_);
  }
  RACKQUAL_CHECK(rc);
  buffers_.emplace_back(static_cast<unsigned char*>(p));
  held_ += bytes;
  return {p, type, count};
}

void TransformerPrimitives::upload(const void* host, View dst) {
  to_device(static_cast<unsigned char*>(dst.data), static_cast<const unsigned char*>(host), dst.bytes(), stream_);
}

void TransformerPrimitives::download(View src, void* host) {
  to_host(static_cast<unsigned char*>(host), static_cast<const unsigned char*>(src.data), src.bytes(), stream_);
}

void TransformerPrimitives::zero(View x) { RACKQUAL_CHECK(cudaMemsetAsync(x.data, 0, x.bytes(), stream_)); }

void TransformerPrimitives::convert(View src, View dst) {
  if (src.count != dst.count) throw std::invalid_argument("cuda backend: convert between views of different lengths");
  if (src.type == dst.type) {
    RACKQUAL_CHECK(cudaMemcpyAsync(dst.data, src.data, src.bytes(), cudaMemcpyDeviceToDevice, stream_));
    return;
  }
  compute_type(src, [&](auto from) {
    compute_type(dst, [&](auto to) {
      using From = typename decltype(from)::type;
      using To = typename decltype(to)::type;
      launch_convert<From, To>(blocks_for(src.count), src.count, as<From>(src), as<To>(dst), stream_);
      launched();
    });
  });
}

void TransformerPrimitives::synchronize() { RACKQUAL_CHECK(cudaStreamSynchronize(stream_)); }

void TransformerPrimitives::initialise(const transformer::Layout& layout, std::uint64_t seed, View weights) {
  launch_initialise(blocks_, layout, seed, as<float>(weights), stream_);
  launched();
}

std::uint64_t TransformerPrimitives::hash(View x) {
  std::vector<unsigned char> bytes(x.bytes());
  download(x, bytes.data());
  return fnv1a_words(bytes.data(), bytes.size());
}

void TransformerPrimitives::matmul(const model::Matmul& p) {
  if (p.a.type != p.b.type) throw std::invalid_argument("cuda backend: product operands of different types");
  compute_type(p.a, [&](auto ab) {
    compute_type(p.c, [&](auto c) {
      using AB = typename decltype(ab)::type;
      using C = typename decltype(c)::type;
      const MatmulShape shape{p.ta, p.tb, p.m, p.n, p.k, p.lda, p.ldb, p.ldc, data_type<AB>(), data_type<C>(),
                              p.batch.count, p.batch.a, p.batch.b, p.batch.c};
      matmuls_->run(shape, p.a.data, p.b.data, p.c.data, static_cast<float>(p.alpha), static_cast<float>(p.beta), stream_);
    });
  });
}

void TransformerPrimitives::embedding_forward(std::int64_t seq, std::int64_t h, View inputs, View token_table,
                                              View position_table, View x) {
  launch_embed(blocks_, inputs.count, seq, h, as<std::int32_t>(inputs), as<float>(token_table), as<float>(position_table),
               as<float>(x), stream_);
  launched();
}

// dE[token] accumulates atomically (tokens repeat); dP[s] sums over the sequences.
void TransformerPrimitives::embedding_backward(std::int64_t seq, std::int64_t h, View inputs, View dx, View dtoken,
                                               View dposition) {
  zero(dtoken);
  launch_embed_backward_tokens(blocks_, inputs.count, h, as<std::int32_t>(inputs), as<float>(dx), as<float>(dtoken), stream_);
  launched();
  launch_embed_backward_positions(blocks_for(seq * h), inputs.count / seq, seq, h, as<float>(dx), as<float>(dposition), stream_);
  launched();
}

void TransformerPrimitives::add_bias(std::int64_t rows, std::int64_t cols, View bias, View y) {
  compute_type(y, [&](auto t) {
    using T = typename decltype(t)::type;
    launch_add_bias<T>(blocks_, rows, cols, as<float>(bias), as<T>(y), stream_);
    launched();
  });
}

void TransformerPrimitives::residual_with_bias(std::int64_t rows, std::int64_t cols, View x, View bias, View y) {
  launch_residual_with_bias(blocks_, rows, cols, as<float>(x), as<float>(bias), as<float>(y), stream_);
  launched();
}

void TransformerPrimitives::column_sums(std::int64_t rows, std::int64_t cols, View x, View out) {
  compute_type(x, [&](auto t) {
    using X = typename decltype(t)::type;
    launch_column_sums<X>(rows, cols, as<X>(x), as<float>(out), stream_);
    launched();
  });
}

void TransformerPrimitives::layernorm_forward(std::int64_t rows, std::int64_t n, View x, View gamma, View beta, View y,
                                              View mean, View rstd) {
  compute_type(y, [&](auto t) {
    using T = typename decltype(t)::type;
    launch_layernorm_forward<T>(rows, n, as<float>(x), as<float>(gamma), as<float>(beta), as<T>(y), as<float>(mean),
                                as<float>(rstd), stream_);
    launched();
  });
}

void TransformerPrimitives::layernorm_backward(std::int64_t rows, std::int64_t n, View x, View gamma, View mean, View rstd,
                                               View dy, View dx, View dx_copy, View dgamma, View dbeta) {
  compute_type(dx_copy, [&](auto t) {
    using T = typename decltype(t)::type;
    launch_layernorm_backward<T>(rows, n, as<float>(x), as<float>(gamma), as<float>(mean), as<float>(rstd), as<float>(dy),
                                 as<float>(dx), as<T>(dx_copy), stream_);
    launched();
  });
  launch_layernorm_parameter_grads(rows, n, as<float>(x), as<float>(mean), as<float>(rstd), as<float>(dy), as<float>(dgamma),
                                   as<float>(dbeta), stream_);
  launched();
}

void TransformerPrimitives::causal_softmax_forward(std::int64_t rows, std::int64_t seq, View scores, View probs) {
  compute_type(probs, [&](auto t) {
    using T = typename decltype(t)::type;
    launch_causal_softmax<T>(rows, seq, as<float>(scores), as<T>(probs), stream_);
    launched();
  });
}

void TransformerPrimitives::causal_softmax_backward(std::int64_t rows, std::int64_t seq, View probs, View dprobs,
                                                    View dscores) {
  compute_type(probs, [&](auto t) {
    using T = typename decltype(t)::type;
    launch_causal_softmax_backward<T>(rows, seq, as<T>(probs), as<float>(dprobs), as<T>(dscores), stream_);
    launched();
  });
}

void TransformerPrimitives::bias_gelu_forward(std::int64_t rows, std::int64_t cols, View bias, View u, View act) {
  compute_type(u, [&](auto t) {
    using T = typename decltype(t)::type;
    launch_bias_gelu<T>(blocks_, rows, cols, as<float>(bias), as<T>(u), as<T>(act), stream_);
    launched();
  });
}

void TransformerPrimitives::gelu_backward(View u, View d) {
  compute_type(d, [&](auto t) {
    using T = typename decltype(t)::type;
    launch_gelu_backward<T>(blocks_, d.count, as<T>(u), as<T>(d), stream_);
    launched();
  });
}

void TransformerPrimitives::cross_entropy(std::int64_t rows, std::int64_t vocab, View logits, View targets, double scale,
                                          View dlogits, View losses) {
  if (logits.data == dlogits.data) throw std::invalid_argument("cuda backend: cross-entropy needs dlogits apart from the logits");
  compute_type(dlogits, [&](auto t) {
    using T = typename decltype(t)::type;
    launch_cross_entropy<T>(rows, vocab, as<float>(logits), as<std::int32_t>(targets), static_cast<float>(scale), as<T>(dlogits),
                            as<float>(losses), stream_);
    launched();
  });
}

void TransformerPrimitives::mean(View x, View out) {
  launch_mean(x.count, as<float>(x), as<float>(out), stream_);
  launched();
}

void TransformerPrimitives::adamw(const model::AdamWScalars& s, View w, View g, View m, View v, View copy) {
  compute_type(copy, [&](auto t) {
    using T = typename decltype(t)::type;
    T* separate = copy.same(w) ? nullptr : as<T>(copy);
    launch_adamw<T>(blocks_for(w.count), w.count, as<float>(w), as<float>(g), as<float>(m), as<float>(v), separate,
                    static_cast<float>(s.grad_scale), static_cast<float>(s.lr), static_cast<float>(s.beta1),
                    static_cast<float>(s.beta2), static_cast<float>(s.eps), static_cast<float>(s.c1), static_cast<float>(s.c2),
                    static_cast<float>(s.decay), stream_);
    launched();
  });
}

void TransformerPrimitives::mark(int point) {
  while (marks_.size() <= static_cast<std::size_t>(point)) marks_.push_back(std::make_unique<Event>());
  RACKQUAL_CHECK(cudaEventRecord(*marks_[static_cast<std::size_t>(point)], stream_));
}

double TransformerPrimitives::seconds_between(int from, int to) {
  return cuda::seconds_between(*marks_.at(static_cast<std::size_t>(from)), *marks_.at(static_cast<std::size_t>(to)));
}

}  // namespace rackqual::cuda
