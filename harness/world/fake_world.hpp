#pragma once
// A world of simulated ranks in one process, for unit tests of the runner's logic without
// mpiexec: each rank is a thread holding its own FakeWorld over one shared FakeCluster. Every
// agreement is an exchange through shared memory in which each rank of the group takes part.
#include <map>
#include <memory>
#include <mutex>

#include "rackqual/world/world.hpp"

namespace rackqual {

class FakeCluster {
 public:
  // One rank per entry: its host and rack.
  explicit FakeCluster(const std::vector<std::pair<std::string, std::string>>& host_and_rack);
  ~FakeCluster();
  int size() const { return static_cast<int>(placements_.size()); }
  const std::vector<Placement>& placements() const { return placements_; }
  const std::vector<HostAndRack>& identities() const { return identities_; }

  struct Exchange;   // the shared state of one group
  struct Mailbox;    // the arrival channel's queue
  // The shared state of the group named `key` with `members` world ranks (created on first use).
  Exchange& exchange(const std::string& key, int members);
  Mailbox& mailbox() { return *mailbox_; }

 private:
  std::vector<HostAndRack> identities_;
  std::vector<Placement> placements_;
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Exchange>> exchanges_;
  std::unique_ptr<Mailbox> mailbox_;
};

class FakeWorld : public World {
 public:
  FakeWorld(FakeCluster& cluster, int rank);
  ~FakeWorld() override;
  int rank() const override { return rank_; }
  int size() const override { return cluster_.size(); }
  // Each rank's own copy, placed from the cluster's until World::place or take_nvlink_domains.
  const std::vector<Placement>& placements() const override { return placements_; }
  const std::vector<HostAndRack>& identities() const override { return cluster_.identities(); }
  const Group& group(Scope scope) const override;
  std::unique_ptr<Group> split(const std::vector<std::vector<int>>& groups, const std::vector<std::string>& names) const override;
  std::unique_ptr<ArrivalChannel> arrival_channel() const override;
  bool simulated() const override { return true; }
  // Throws FakeWorld::Aborted: a simulated run cannot end the process it shares.
  [[noreturn]] void abort(int code) const override;

  struct Aborted : std::runtime_error {
    using std::runtime_error::runtime_error;
  };

 protected:
  void set_placements(std::vector<Placement> placements) override;

 private:
  FakeCluster& cluster_;
  int rank_;
  std::vector<Placement> placements_;
  mutable std::map<Scope, std::unique_ptr<Group>> groups_;
  mutable long splits_ = 0;   // every rank splits in the same order: the count names the exchange
};

}  // namespace rackqual
