#pragma once
// How the training step talks to the other data-parallel ranks, supplied by the operation
// (NCCL on GPUs, MPI on the host), so that the model itself knows no communication library.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/model/view.hpp"

namespace rackqual::model {

class GradientCollective {
 public:
  virtual ~GradientCollective() = default;
  // Ranks that sum their gradients (1: nothing to exchange).
  virtual int ranks() const = 0;
  // Starts summing one bucket of gradients in place across the ranks, once the work enqueued on
  // the primitives before this call is done; returns without waiting. Every rank starts the same
  // buckets in the same order (0, 1, ...) with the same counts and type.
  virtual void start(std::size_t bucket, View gradients) = 0;
  // Work enqueued on the primitives after this call runs after every started sum.
  virtual void join() = 0;
  // Returns once all enqueued work (the primitives' and the sums) is done; throws when a peer
  // does not arrive within the deadline or the collective fails.
  virtual void wait() = 0;
  // Every rank's value, by rank in the group (a blocking collective every rank calls).
  virtual std::vector<std::uint64_t> all_gather(std::uint64_t value) = 0;
};

}  // namespace rackqual::model
