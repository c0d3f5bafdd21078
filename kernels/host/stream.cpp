// hbm on the host: STREAM kernels over double arrays with OpenMP, static schedule, and
// first-touch initialisation by the same schedule, so each thread works on its own pages.
#include <cmath>
#include <cstdio>

#include "kernels/common/stream.hpp"
#include "kernels/host/buffer.hpp"
#include "rackqual/api/backend.hpp"

namespace rackqual::host {
namespace {

class Stream : public Op {
 public:
  Stream(stream::Op op, std::int64_t bytes)
      : op_(op), n_(bytes / static_cast<std::int64_t>(sizeof(double))), a_(allocate<double>(n_)), b_(allocate<double>(n_)),
        c_(allocate<double>(n_)) {
    double* a = a_.get();
    double* b = b_.get();
    double* c = c_.get();
    double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
    for (std::int64_t i = 0; i < n_; ++i) {
      a[i] = stream::initial(0, i);
      b[i] = stream::initial(1, i);
      c[i] = stream::initial(2, i);
      sum += a[i];
    }
    expected_sum_ = sum;
  }

  void launch() override {
    double* __restrict a = a_.get();
    double* __restrict b = b_.get();
    double* __restrict c = c_.get();
    const double q = stream::scalar;
    const std::int64_t n = n_;
    switch (op_) {
      case stream::Op::read: {
        double sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum)
        for (std::int64_t i = 0; i < n; ++i) sum += a[i];
        sum_ = sum;
        break;
      }
      case stream::Op::write:
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) a[i] = stream::written;
        break;
      case stream::Op::copy:
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) c[i] = a[i];
        break;
      case stream::Op::scale:
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) b[i] = q * c[i];
        break;
      case stream::Op::add:
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) c[i] = a[i] + b[i];
        break;
      case stream::Op::triad:
#pragma omp parallel for schedule(static)
        for (std::int64_t i = 0; i < n; ++i) a[i] = b[i] + q * c[i];
        break;
    }
  }

  // Every output element against its known answer; `read` against the sum of its input.
  Correctness verify() override {
    if (op_ == stream::Op::read) {
      const double error = std::fabs(sum_ - expected_sum_) / expected_sum_;
      char detail[160];
      std::snprintf(detail, sizeof detail, "checksum %.15g, expected %.15g (relative error %.2g)", sum_, expected_sum_, error);
      return {error <= 1e-9, detail};
    }
    const double* out = output();
    std::int64_t wrong = 0, first = -1;
    double checksum = 0;
#pragma omp parallel for schedule(static) reduction(+ : wrong, checksum) reduction(max : first)
    for (std::int64_t i = 0; i < n_; ++i) {
      const double want = stream::expected(op_, a_[i], b_[i], c_[i]);
      checksum += out[i];
      if (!(std::fabs(out[i] - want) <= 4e-16 * std::fabs(want))) {
        ++wrong;
        first = std::max(first, i);
      }
    }
    char detail[200];
    if (wrong) {
      std::snprintf(detail, sizeof detail, "%lld of %lld elements wrong (element %lld = %.17g, expected %.17g)",
                    static_cast<long long>(wrong), static_cast<long long>(n_), static_cast<long long>(first), out[first],
                    stream::expected(op_, a_[first], b_[first], c_[first]));
      return {false, detail};
    }
    std::snprintf(detail, sizeof detail, "all %lld elements as expected; checksum %.15g", static_cast<long long>(n_), checksum);
    return {true, detail};
  }

  void inject_error() override {
    if (op_ == stream::Op::read) sum_ += 1;
    else output()[n_ / 2] += 1;
  }

 private:
  double* output() {
    switch (op_) {
      case stream::Op::copy:
      case stream::Op::add: return c_.get();
      case stream::Op::scale: return b_.get();
      default: return a_.get();
    }
  }

  stream::Op op_;
  std::int64_t n_;
  Array<double> a_, b_, c_;
  double sum_ = 0, expected_sum_ = 0;
};

const OpRegistration registration("host", "hbm", [](const OpContext& ctx) -> std::unique_ptr<Op> {
  return std::make_unique<Stream>(stream::parse_op(ctx.params.text("op")), ctx.params.integer("bytes"));
});

}  // namespace
}  // namespace rackqual::host
