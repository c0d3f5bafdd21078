// The host's primitives: every product one cblas call (a strided batch runs its products in
// parallel, each on one thread: OpenBLAS runs single-threaded inside an OpenMP parallel
// region), row-wise maths one OpenMP thread per row, column-wise reductions one thread per
// block of columns, each walking every row, so that no two threads write the same output.
#include "kernels/host/transformer_primitives.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernels/common/dtype.hpp"
#include "kernels/common/hash.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/model/out_of_memory.hpp"

namespace rackqual::host {

using model::View;

namespace {

constexpr std::int64_t column_block = 64;

template <typename T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>) return DType::fp32;
  else if constexpr (std::is_same_v<T, double>) return DType::fp64;
  else return DType::int32;
}

// The view's elements as T; throws when the view holds another type.
template <typename T>
T* as(View v) {
  return model::elements<T>(v, dtype_of<T>(), "host backend");
}

// Calls f with a float or a double, as the view's type says (the host computes in fp32 or fp64).
template <typename F>
void real(View v, F&& f) {
  if (v.type == DType::fp32) f(float{});
  else if (v.type == DType::fp64) f(double{});
  else
    throw std::invalid_argument(std::string("host backend: the training step computes in fp32 or fp64, not ") +
                                std::string(to_string(v.type)));
}

// Element i of a view of any type, as double; and stored from double.
double load(View v, std::int64_t i) {
  const char* p = static_cast<const char*>(v.data) + static_cast<std::size_t>(i) * model::size_of(v.type);
  switch (v.type) {
    case DType::fp32: { float f; std::memcpy(&f, p, 4); return f; }
    case DType::fp64: { double d; std::memcpy(&d, p, 8); return d; }
    case DType::bf16: { std::uint16_t h; std::memcpy(&h, p, 2); return dtype::bf16_to_float(h); }
    default: { std::int32_t k; std::memcpy(&k, p, 4); return k; }
  }
}
void store(View v, std::int64_t i, double x) {
  char* p = static_cast<char*>(v.data) + static_cast<std::size_t>(i) * model::size_of(v.type);
  switch (v.type) {
    case DType::fp32: { const auto f = static_cast<float>(x); std::memcpy(p, &f, 4); return; }
    case DType::fp64: std::memcpy(p, &x, 8); return;
    case DType::bf16: { const std::uint16_t h = dtype::float_to_bf16(static_cast<float>(x)); std::memcpy(p, &h, 2); return; }
    default: { const auto k = static_cast<std::int32_t>(x); std::memcpy(p, &k, 4); return; }
  }
}

// Row-major C = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n.
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a, std::int64_t lda,
          const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}
void gemm(bool ta, bool tb, std::int64_t m, std::int64_t n, std::int64_t k, double alpha, const double* a,
          std::int64_t lda, const double* b, std::int64_t ldb, double beta, double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
              static_cast<blasint>(n), static_cast<blasint>(k), alpha, a, static_cast<blasint>(lda), b,
              static_cast<blasint>(ldb), beta, c, static_cast<blasint>(ldc));
}

}  // namespace

View TransformerPrimitives::allocate(DType type, std::int64_t count) {
  const std::size_t bytes = static_cast<std::size_t>(count) * model::size_of(type);
  try {
    buffers_.push_back(host::allocate<unsigned char>(bytes));
  } catch (const std::bad_alloc&) {
    throw model::OutOfMemory("the host", bytes, held_);
  }
  held_ += bytes;
  return {buffers_.back().get(), type, count};
}

void TransformerPrimitives::upload(const void* host, View dst) { std::memcpy(dst.data, host, dst.bytes()); }

void TransformerPrimitives::download(View src, void* host) { std::memcpy(host, src.data, src.bytes()); }

void TransformerPrimitives::zero(View x) {
  auto* p = static_cast<unsigned char*>(x.data);
  const auto bytes = static_cast<std::int64_t>(x.bytes());
#pragma omp parallel for schedule(static)
  for (std::int64_t c0 = 0; c0 < bytes; c0 += 4096)
    std::memset(p + c0, 0, static_cast<std::size_t>(std::min<std::int64_t>(4096, bytes - c0)));
}

void TransformerPrimitives::convert(View src, View dst) {
  if (src.count != dst.count) throw std::invalid_argument("host backend: convert between views of different lengths");
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < src.count; ++i) store(dst, i, load(src, i));
}

void TransformerPrimitives::initialise(const transformer::Layout& layout, std::uint64_t seed, View weights) {
  real(weights, [&]<typename T>(T) {
    for (std::int64_t k = 0; k < layout.tensors(); ++k) {
      const transformer::TensorRef t = layout.tensor(k);
      T* w = as<T>(weights) + t.offset;
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < t.size(); ++i) w[i] = transformer::initial_weight<T>(t, layout.layers(), i, seed);
    }
  });
}

std::uint64_t TransformerPrimitives::hash(View x) { return fnv1a_words(x.data, x.bytes()); }

void TransformerPrimitives::matmul(const model::Matmul& p) {
  real(p.c, [&]<typename T>(T) {
    const T* a = as<T>(p.a);
    const T* b = as<T>(p.b);
    T* c = as<T>(p.c);
    const auto alpha = static_cast<T>(p.alpha), beta = static_cast<T>(p.beta);
    if (p.batch.count == 1) {
      gemm(p.ta, p.tb, p.m, p.n, p.k, alpha, a, p.lda, b, p.ldb, beta, c, p.ldc);
      return;
    }
#pragma omp parallel for schedule(static)
    for (std::int32_t i = 0; i < p.batch.count; ++i)
      gemm(p.ta, p.tb, p.m, p.n, p.k, alpha, a + i * p.batch.a, p.lda, b + i * p.batch.b, p.ldb, beta, c + i * p.batch.c,
           p.ldc);
  });
}

void TransformerPrimitives::embedding_forward(std::int64_t seq, std::int64_t h, View inputs, View token_table,
                                              View position_table, View x) {
  real(x, [&]<typename T>(T) {
    const std::int32_t* in = as<std::int32_t>(inputs);
    const T* E = as<T>(token_table);
    const T* P = as<T>(position_table);
    T* out = as<T>(x);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < inputs.count; ++r) {
      const T* e = E + static_cast<std::int64_t>(in[r]) * h;
      const T* p = P + (r % seq) * h;
      for (std::int64_t j = 0; j < h; ++j) out[r * h + j] = e[j] + p[j];
    }
  });
}

// Column blocks keep repeated tokens from racing.
void TransformerPrimitives::embedding_backward(std::int64_t seq, std::int64_t h, View inputs, View dx, View dtoken,
                                               View dposition) {
  zero(dtoken);
  real(dx, [&]<typename T>(T) {
    const std::int32_t* in = as<std::int32_t>(inputs);
    const T* d = as<T>(dx);
    T* dE = as<T>(dtoken);
    T* dP = as<T>(dposition);
#pragma omp parallel for schedule(static)
    for (std::int64_t c0 = 0; c0 < h; c0 += column_block) {
      const std::int64_t c1 = std::min(h, c0 + column_block);
      for (std::int64_t s = 0; s < seq; ++s)
        for (std::int64_t j = c0; j < c1; ++j) dP[s * h + j] = 0;
      for (std::int64_t r = 0; r < inputs.count; ++r) {
        T* e = dE + static_cast<std::int64_t>(in[r]) * h;
        T* p = dP + (r % seq) * h;
        for (std::int64_t j = c0; j < c1; ++j) {
          e[j] += d[r * h + j];
          p[j] += d[r * h + j];
        }
      }
    }
  });
}

void TransformerPrimitives::add_bias(std::int64_t rows, std::int64_t cols, View bias, View y) {
  real(y, [&]<typename T>(T) {
    const T* b = as<T>(bias);
    T* out = as<T>(y);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < cols; ++j) out[r * cols + j] += b[j];
  });
}

void TransformerPrimitives::residual_with_bias(std::int64_t rows, std::int64_t cols, View x, View bias, View y) {
  real(y, [&]<typename T>(T) {
    const T* in = as<T>(x);
    const T* b = as<T>(bias);
    T* out = as<T>(y);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < cols; ++j) out[r * cols + j] = in[r * cols + j] + b[j];
  });
}

void TransformerPrimitives::column_sums(std::int64_t rows, std::int64_t cols, View x, View out) {
  real(out, [&]<typename T>(T) {
    const T* in = as<T>(x);
    T* sums = as<T>(out);
#pragma omp parallel for schedule(static)
    for (std::int64_t c0 = 0; c0 < cols; c0 += column_block) {
      const std::int64_t c1 = std::min(cols, c0 + column_block);
      for (std::int64_t j = c0; j < c1; ++j) sums[j] = 0;
      for (std::int64_t r = 0; r < rows; ++r) {
        const T* row = in + r * cols;
        for (std::int64_t j = c0; j < c1; ++j) sums[j] += row[j];
      }
    }
  });
}

void TransformerPrimitives::layernorm_forward(std::int64_t rows, std::int64_t n, View x, View gamma, View beta, View y,
                                              View mean, View rstd) {
  real(y, [&]<typename T>(T) {
    const T* in = as<T>(x);
    const T* g = as<T>(gamma);
    const T* b = as<T>(beta);
    T* out = as<T>(y);
    T* mu = as<T>(mean);
    T* rs = as<T>(rstd);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) transformer::layernorm_forward_row(n, in + r * n, g, b, out + r * n, mu + r, rs + r);
  });
}

void TransformerPrimitives::layernorm_backward(std::int64_t rows, std::int64_t n, View x, View gamma, View mean, View rstd,
                                               View dy, View dx, View dx_copy, View dgamma, View dbeta) {
  if (!dx_copy.same(dx)) throw std::invalid_argument("host backend: the training step keeps no separate compute copy");
  real(dx, [&]<typename T>(T) {
    const T* in = as<T>(x);
    const T* g = as<T>(gamma);
    const T* mu = as<T>(mean);
    const T* rs = as<T>(rstd);
    const T* d = as<T>(dy);
    T* out = as<T>(dx);
    T* dg = as<T>(dgamma);
    T* db = as<T>(dbeta);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r)
      transformer::layernorm_backward_row(n, in + r * n, g, mu[r], rs[r], d + r * n, out + r * n);
#pragma omp parallel for schedule(static)
    for (std::int64_t c0 = 0; c0 < n; c0 += column_block) {
      const std::int64_t c1 = std::min(n, c0 + column_block);
      for (std::int64_t j = c0; j < c1; ++j) dg[j] = db[j] = 0;
      for (std::int64_t r = 0; r < rows; ++r) {
        const T* xr = in + r * n;
        const T* dyr = d + r * n;
        const T m = mu[r], s = rs[r];
        for (std::int64_t j = c0; j < c1; ++j) {
          dg[j] += dyr[j] * ((xr[j] - m) * s);
          db[j] += dyr[j];
        }
      }
    }
  });
}

void TransformerPrimitives::causal_softmax_forward(std::int64_t rows, std::int64_t seq, View scores, View probs) {
  real(probs, [&]<typename T>(T) {
    const T* z = as<T>(scores);
    T* p = as<T>(probs);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      if (p != z) std::memcpy(p + r * seq, z + r * seq, static_cast<std::size_t>(seq) * sizeof(T));
      transformer::causal_softmax_row(r % seq + 1, seq, p + r * seq);
    }
  });
}

void TransformerPrimitives::causal_softmax_backward(std::int64_t rows, std::int64_t seq, View probs, View dprobs,
                                                    View dscores) {
  real(dscores, [&]<typename T>(T) {
    const T* p = as<T>(probs);
    const T* dp = as<T>(dprobs);
    T* ds = as<T>(dscores);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      if (ds != dp) std::memcpy(ds + r * seq, dp + r * seq, static_cast<std::size_t>(seq) * sizeof(T));
      transformer::causal_softmax_backward_row(r % seq + 1, seq, p + r * seq, ds + r * seq);
    }
  });
}

void TransformerPrimitives::bias_gelu_forward(std::int64_t rows, std::int64_t cols, View bias, View u, View act) {
  real(u, [&]<typename T>(T) {
    const T* b = as<T>(bias);
    T* pre = as<T>(u);
    T* out = as<T>(act);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t j = 0; j < cols; ++j) {
        const T x = pre[r * cols + j] + b[j];
        pre[r * cols + j] = x;
        out[r * cols + j] = transformer::gelu(x);
      }
  });
}

void TransformerPrimitives::gelu_backward(View u, View d) {
  real(d, [&]<typename T>(T) {
    const T* pre = as<T>(u);
    T* g = as<T>(d);
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < d.count; ++i) g[i] *= transformer::gelu_derivative(pre[i]);
  });
}

void TransformerPrimitives::cross_entropy(std::int64_t rows, std::int64_t vocab, View logits, View targets, double scale,
                                          View dlogits, View losses) {
  real(dlogits, [&]<typename T>(T) {
    const T* z = as<T>(logits);
    const std::int32_t* t = as<std::int32_t>(targets);
    T* dz = as<T>(dlogits);
    T* loss = as<T>(losses);
    const auto s = static_cast<T>(scale);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      if (dz != z) std::memcpy(dz + r * vocab, z + r * vocab, static_cast<std::size_t>(vocab) * sizeof(T));
      loss[r] = transformer::cross_entropy_row(vocab, dz + r * vocab, t[r], s);
    }
  });
}

// Summed in double whatever the type: the loss of a large micro-batch keeps its digits.
void TransformerPrimitives::mean(View x, View out) {
  real(x, [&]<typename T>(T) {
    const T* in = as<T>(x);
    double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
    for (std::int64_t i = 0; i < x.count; ++i) total += in[i];
    as<T>(out)[0] = static_cast<T>(total / static_cast<double>(x.count));
  });
}

void TransformerPrimitives::adamw(const model::AdamWScalars& s, View w, View g, View m, View v, View copy) {
  if (!copy.same(w)) throw std::invalid_argument("host backend: the training step keeps no separate compute copy");
  real(w, [&]<typename T>(T) {
    T* wt = as<T>(w);
    const T* gt = as<T>(g);
    T* mt = as<T>(m);
    T* vt = as<T>(v);
    const auto lr = static_cast<T>(s.lr), b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
    const auto eps = static_cast<T>(s.eps), c1 = static_cast<T>(s.c1), c2 = static_cast<T>(s.c2);
    const auto decay = static_cast<T>(s.decay), scale = static_cast<T>(s.grad_scale);
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < w.count; ++i)
      transformer::adamw_update(wt[i], mt[i], vt[i], gt[i] * scale, lr, b1, b2, eps, c1, c2, decay);
  });
}

void TransformerPrimitives::mark(int point) {
  if (marks_.size() <= static_cast<std::size_t>(point)) marks_.resize(static_cast<std::size_t>(point) + 1);
  marks_[static_cast<std::size_t>(point)] = std::chrono::steady_clock::now();
}

double TransformerPrimitives::seconds_between(int from, int to) {
  return std::chrono::duration<double>(marks_.at(static_cast<std::size_t>(to)) - marks_.at(static_cast<std::size_t>(from)))
      .count();
}

}  // namespace rackqual::host
