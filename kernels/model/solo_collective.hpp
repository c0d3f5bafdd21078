#pragma once
// The collective of a single rank: there is nothing to sum or gather.
#include "kernels/model/collective.hpp"
#include "kernels/model/primitives.hpp"

namespace rackqual::model {

class SoloCollective final : public GradientCollective {
 public:
  explicit SoloCollective(Primitives& primitives) : primitives_(primitives) {}
  int ranks() const override { return 1; }
  // One rank's sum is its own gradient.
  void start(std::size_t, View) override {}
  // Nothing was started, so nothing to order after.
  void join() override {}
  // Waits for the primitives' queue.
  void wait() override { primitives_.synchronize(); }
  // Only this rank's value.
  std::vector<std::uint64_t> all_gather(std::uint64_t value) override { return {value}; }

 private:
  Primitives& primitives_;
};

}  // namespace rackqual::model
