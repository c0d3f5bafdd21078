#pragma once
// The host's gradient collective for the training step: each bucket a non-blocking summing
// MPI_Iallreduce over the group's communicator, all completed at join().
#include <mpi.h>

#include <vector>

#include "kernels/model/collective.hpp"
#include "rackqual/api/group.hpp"

namespace rackqual::host {

class GradientAllreduce final : public model::GradientCollective {
 public:
  explicit GradientAllreduce(const Group& group);
  int ranks() const override { return ranks_; }
  void start(std::size_t bucket, model::View gradients) override;
  void join() override;
  // The host's work is done when each call returns: nothing left to wait for.
  void wait() override {}
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override;

 private:
  const Group& group_;
  MPI_Comm comm_;
  int ranks_;
  std::vector<MPI_Request> pending_;
};

}  // namespace rackqual::host
