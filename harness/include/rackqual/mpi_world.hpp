#pragma once
// The world of a real run: MPI ranks, one MPI communicator per scope group.
#include <map>
#include <memory>

#include "rackqual/world.hpp"

namespace rackqual {

class MpiWorld : public World {
 public:
  // Starts MPI (thread level: multiple, for the deadline watchdog) and learns the topology.
  MpiWorld(int* argc, char*** argv);
  ~MpiWorld() override;
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const std::vector<Placement>& placements() const override { return placements_; }
  const std::vector<HostAndRack>& identities() const override { return identities_; }
  const Group& group(Scope scope) const override;
  std::unique_ptr<ArrivalChannel> arrival_channel() const override;
  [[noreturn]] void abort(int code) const override;

 protected:
  void set_placements(std::vector<Placement> placements) override;

 private:
  int rank_ = 0;
  int size_ = 1;
  std::vector<HostAndRack> identities_;
  std::vector<Placement> placements_;
  mutable std::map<Scope, std::unique_ptr<Group>> groups_;
};

}  // namespace rackqual
