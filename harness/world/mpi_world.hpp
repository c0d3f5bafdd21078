#pragma once
// The world of a real run: MPI ranks, one MPI communicator per scope group.
#include <map>
#include <memory>

#include <mpi.h>

#include "rackqual/world/world.hpp"

namespace rackqual {

class Abandonment;

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
  std::unique_ptr<Group> split(const std::vector<std::vector<int>>& groups, const std::vector<std::string>& names) const override;
  std::unique_ptr<ArrivalChannel> arrival_channel() const override;
  [[noreturn]] void abort(int code) const override;
  bool can_exclude() const override { return true; }
  void abandon(const std::vector<int>& ranks) const override;
  void exclude(const std::vector<int>& ranks, const std::function<void(const Group&)>& retired = {}) override;
  const std::vector<int>& excluded() const override { return excluded_; }

 protected:
  void set_placements(std::vector<Placement> placements) override;

 private:
  int rank_ = 0;
  int size_ = 1;
  std::vector<HostAndRack> identities_;
  std::vector<Placement> placements_;
  mutable std::map<Scope, std::unique_ptr<Group>> groups_;
  MPI_Comm live_ = MPI_COMM_WORLD;   // the ranks still taking part
  std::vector<int> excluded_;
  std::unique_ptr<Abandonment> abandonment_;
  int exit_code_ = 0;
};

}  // namespace rackqual
