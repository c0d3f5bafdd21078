#include "kernels/host/gradient_allreduce.hpp"

#include <limits>
#include <stdexcept>
#include <string>

#include "kernels/model/group_hashes.hpp"
#include "rackqual/world/mpi_native.hpp"

namespace rackqual::host {

GradientAllreduce::GradientAllreduce(const Group& group)
    : group_(group), comm_(native_comm(group)), ranks_(group.size()) {}

void GradientAllreduce::start(std::size_t bucket, model::View gradients) {
  if (gradients.count > std::numeric_limits<int>::max())
    throw std::runtime_error("gradient bucket " + std::to_string(bucket) + " has 2^31 elements or more (one MPI_Iallreduce)");
  MPI_Datatype type = MPI_FLOAT;
  if (gradients.type == DType::fp64) type = MPI_DOUBLE;
  else if (gradients.type != DType::fp32)
    throw std::invalid_argument(std::string("host backend: gradients are all-reduced in fp32 or fp64, not ") +
                                std::string(to_string(gradients.type)));
  MPI_Request request = MPI_REQUEST_NULL;
  const int rc = MPI_Iallreduce(MPI_IN_PLACE, gradients.data, static_cast<int>(gradients.count), type, MPI_SUM, comm_,
                                &request);
  if (rc != MPI_SUCCESS)
    throw std::runtime_error("MPI_Iallreduce of gradient bucket " + std::to_string(bucket) + " failed with code " +
                             std::to_string(rc));
  pending_.push_back(request);
}

void GradientAllreduce::join() {
  const int rc = MPI_Waitall(static_cast<int>(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE);
  pending_.clear();
  if (rc != MPI_SUCCESS) throw std::runtime_error("MPI_Waitall of the gradient all-reduces failed with code " + std::to_string(rc));
}

std::vector<std::uint64_t> GradientAllreduce::all_gather(std::uint64_t value) { return model::gather_hashes(group_, value); }

}  // namespace rackqual::host
