// allreduce on the host: MPI_Allreduce (sum) across the ranks of the check's group.
#include <mpi.h>

#include <cmath>
#include <cstdio>

#include "kernels/common/collective.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/world/mpi_native.hpp"

namespace rackqual::host {
namespace {

template <typename T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

template <typename T>
class Allreduce : public Op {
 public:
  Allreduce(const Group& group, std::int64_t bytes, bool in_place)
      : comm_(native_comm(group)), ranks_(group.size()), count_(bytes / static_cast<std::int64_t>(sizeof(T))),
        in_place_(in_place), send_(std::make_unique_for_overwrite<T[]>(count_)), recv_(std::make_unique_for_overwrite<T[]>(in_place ? 1 : count_)) {
    const int rank = group.rank();
    T* send = send_.get();
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < count_; ++i) send[i] = static_cast<T>(collective::input(rank, i));
    if (!in_place) {
      T* recv = recv_.get();
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < count_; ++i) recv[i] = static_cast<T>(-1);
    }
  }

  void launch() override {
    const int rc = in_place_ ? MPI_Allreduce(MPI_IN_PLACE, send_.get(), static_cast<int>(count_), mpi_type<T>(), MPI_SUM, comm_)
                             : MPI_Allreduce(send_.get(), recv_.get(), static_cast<int>(count_), mpi_type<T>(), MPI_SUM, comm_);
    if (rc != MPI_SUCCESS) throw std::runtime_error("MPI_Allreduce failed with code " + std::to_string(rc));
  }

  // Every element against the exact sum of every rank's inputs (valid after the first pass).
  Correctness verify() override {
    const T* out = result();
    const double tol = collective::sum_tolerance(ranks_, sizeof(T) == 4 ? 0x1.0p-24 : 0x1.0p-53);
    std::int64_t wrong = 0, first = -1;
#pragma omp parallel for schedule(static) reduction(+ : wrong) reduction(max : first)
    for (std::int64_t i = 0; i < count_; ++i) {
      const double want = collective::expected_sum(ranks_, i);
      if (!(std::fabs(static_cast<double>(out[i]) - want) <= tol * want)) {
        ++wrong;
        first = std::max(first, i);
      }
    }
    char detail[200];
    if (wrong) {
      std::snprintf(detail, sizeof detail, "%lld of %lld elements wrong (element %lld = %.9g, expected %.9g)",
                    static_cast<long long>(wrong), static_cast<long long>(count_), static_cast<long long>(first),
                    static_cast<double>(out[first]), collective::expected_sum(ranks_, first));
      return {false, detail};
    }
    std::snprintf(detail, sizeof detail, "all %lld elements equal the sum over %d ranks", static_cast<long long>(count_), ranks_);
    return {true, detail};
  }

  void inject_error() override { const_cast<T*>(result())[count_ / 2] *= 2; }

 private:
  const T* result() const { return in_place_ ? send_.get() : recv_.get(); }

  MPI_Comm comm_;
  int ranks_;
  std::int64_t count_;
  bool in_place_;
  // Ordinary heap buffers, as applications use: MPICH's shared-memory path copies page-aligned
  // buffers measurably slower, and the figure should be the one applications get.
  std::unique_ptr<T[]> send_, recv_;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  const auto& p = ctx.params.typed<AllreduceParams>();
  if (p.count() > INT32_MAX) throw SetupError("host backend: all-reduce of 2^31 elements or more");
  if (p.dtype == DType::fp32) return std::make_unique<Allreduce<float>>(ctx.group, p.bytes, p.in_place);
  if (p.dtype == DType::fp64) return std::make_unique<Allreduce<double>>(ctx.group, p.bytes, p.in_place);
  throw SetupError("host backend: allreduce dtype " + std::string(to_string(p.dtype)) + " is not supported (fp32, fp64)");
}

const OpRegistration registration("host", "allreduce", make, {{"dtype", {"fp32", "fp64"}}});

}  // namespace
}  // namespace rackqual::host
