#pragma once
// Checking sampled outputs of C = A·B against a reference dot product in double.
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/common/random.hpp"
#include "rackqual/base/dtype.hpp"

namespace rackqual::gemm {

// Unit roundoff of each dtype's accumulation as the host libraries do it.
inline double unit_roundoff(DType dtype) { return traits(dtype).unit_roundoff; }

// Error bound of a length-k dot product: |c - ref| <= tol * sum_l |a_il * b_lj|, with
// tol = 2*sqrt(k)*u + small, the probabilistic bound of Higham & Mary (2019) with margin.
inline double tolerance(std::int64_t k, double u) { return 2.0 * std::sqrt(static_cast<double>(k)) * u + 4.0 * u; }

// On a GPU (cuBLASLt) the products are accumulated in the compute type, not the input type:
// unit roundoff of that accumulation, relative to sum_l |a_il * b_lj|.
inline double accumulation_roundoff(DType dtype) { return traits(dtype).gpu_accumulation_roundoff; }

// Unit roundoff of storing the fp32 result in a narrower output type, relative to |C|;
// zero where the output is the accumulation type (fp8 writes bf16).
inline double output_roundoff(DType dtype) { return traits(dtype).output_roundoff; }

// Error bound of one GPU output: |c - ref| <= e + v (|ref| + e). e = tolerance(k, u) sum |a*b|
// bounds the accumulation; v is the rounding of that result, at most |ref| + e, to the output type.
inline double gpu_bound(DType dtype, std::int64_t k, double ref, double magnitude) {
  const double accumulated = tolerance(k, accumulation_roundoff(dtype)) * magnitude;
  return accumulated + output_roundoff(dtype) * (std::fabs(ref) + accumulated);
}

// Output elements to check: both corners, then random ones.
inline std::vector<std::pair<std::int64_t, std::int64_t>> samples(std::int64_t m, std::int64_t n, int count) {
  std::vector<std::pair<std::int64_t, std::int64_t>> out = {{0, 0}, {m - 1, n - 1}};
  for (int s = 0; s < count; ++s) {
    const auto i = static_cast<std::int64_t>(random::uniform(0xc0ffee, 2 * s) * static_cast<double>(m));
    const auto j = static_cast<std::int64_t>(random::uniform(0xc0ffee, 2 * s + 1) * static_cast<double>(n));
    out.emplace_back(i, j);
  }
  return out;
}

// Reference C(i,j) and sum |A(i,l) B(l,j)| of row-major A (m×k) and B (k×n), in double.
template <typename T>
std::pair<double, double> reference(const T* a, const T* b, std::int64_t n, std::int64_t k, std::int64_t i, std::int64_t j) {
  double sum = 0, magnitude = 0;
  for (std::int64_t l = 0; l < k; ++l) {
    const double p = static_cast<double>(a[i * k + l]) * static_cast<double>(b[l * n + j]);
    sum += p;
    magnitude += std::fabs(p);
  }
  return {sum, magnitude};
}

// Reference C(i,j) and sum |A(i,l) B(l,j)| from row i of A and column j of B (k values each), in double.
inline std::pair<double, double> dot_reference(const double* row, const double* column, std::int64_t k) {
  double sum = 0, magnitude = 0;
  for (std::int64_t l = 0; l < k; ++l) {
    const double p = row[l] * column[l];
    sum += p;
    magnitude += std::fabs(p);
  }
  return {sum, magnitude};
}

}  // namespace rackqual::gemm
