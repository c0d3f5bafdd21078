// gemm on the host: OpenBLAS sgemm/dgemm, row-major C = A·B.
#include <cblas.h>

#include <cmath>
#include <cstdio>

#include "kernels/common/consensus.hpp"
#include "kernels/common/gemm_check.hpp"
#include "kernels/common/hash.hpp"
#include "kernels/common/random.hpp"
#include "kernels/host/blas_setting.hpp"
#include "kernels/host/buffer.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual::host {
namespace {

constexpr int random_samples = 62;   // outputs the check compares with a reference, besides both corners

void multiply(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, const float* b, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}
void multiply(std::int64_t m, std::int64_t n, std::int64_t k, const double* a, const double* b, double* c) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, 0.0, c, n);
}

// The inputs come from fixed seeds, the same on every rank: with `consensus`, every rank's C is
// the same product, which OpenBLAS computes bit for bit alike on CPUs of one model with the same
// library and threads per rank (blas_setting.hpp).
template <typename T>
class Gemm : public Op {
 public:
  Gemm(std::int64_t m, std::int64_t n, std::int64_t k, DType dtype, bool consensus)
      : m_(m), n_(n), k_(k), dtype_(dtype), consensus_(consensus), a_(allocate<T>(m * k)),
        b_(allocate<T>(k * n)), c_(allocate<T>(m * n)) {
    fill(a_.get(), m * k, 1);
    fill(b_.get(), k * n, 2);
    fill(c_.get(), m * n, 3);  // never zeros: an output left unwritten cannot pass
  }

  void launch() override { multiply(m_, n_, k_, a_.get(), b_.get(), c_.get()); }

  Correctness verify() override {
    const double tol = gemm::tolerance(k_, gemm::unit_roundoff(dtype_));
    const auto points = gemm::samples(m_, n_, random_samples);
    for (const auto& [i, j] : points) {
      const auto [ref, magnitude] = gemm::reference(a_.get(), b_.get(), n_, k_, i, j);
      const double got = c_[i * n_ + j];
      if (!(std::fabs(got - ref) <= tol * magnitude)) {
        char detail[200];
        std::snprintf(detail, sizeof detail, "C(%lld,%lld) = %.9g, reference %.9g (error %.3g > bound %.3g)",
                      static_cast<long long>(i), static_cast<long long>(j), got, ref, std::fabs(got - ref), tol * magnitude);
        return {false, detail};
      }
    }
    return {true, std::to_string(points.size()) + " sampled outputs within " + std::string(to_string(dtype_)) + " tolerance of a double reference"};
  }

  void inject_error() override { c_[0] = c_[0] * 2 + 1; }

  std::optional<Digest> digest() override {
    if (!consensus_) return std::nullopt;
    const auto bytes = static_cast<std::size_t>(m_ * n_) * sizeof(T);
    return Digest{consensus::hex(fnv1a_words(c_.get(), bytes)),
                  "C, " + std::to_string(m_) + " x " + std::to_string(n_) + " " + std::string(to_string(dtype_)), blas_setting(), {}, 0};
  }

  // One ulp of an element the check does not sample.
  void corrupt() override {
    const auto [i, j] = consensus::unsampled_element(m_, n_, random_samples);
    consensus::flip_lowest_bit(&c_[i * n_ + j]);
  }

 private:
  static void fill(T* x, std::int64_t count, std::uint64_t seed) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count; ++i) x[i] = static_cast<T>(random::uniform(seed, i, -1.0, 1.0));
  }

  std::int64_t m_, n_, k_;
  DType dtype_;
  bool consensus_;
  Array<T> a_, b_, c_;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  const auto& p = ctx.params.typed<GemmParams>();
  if (p.dtype == DType::fp32) return std::make_unique<Gemm<float>>(p.m, p.n, p.k, p.dtype, p.consensus);
  if (p.dtype == DType::fp64) return std::make_unique<Gemm<double>>(p.m, p.n, p.k, p.dtype, p.consensus);
  throw SetupError("host backend: gemm dtype " + std::string(to_string(p.dtype)) + " is not supported (fp32, fp64)");
}

const OpRegistration registration("host", "gemm", make, {{"dtype", {"fp32", "fp64"}}});

}  // namespace
}  // namespace rackqual::host
