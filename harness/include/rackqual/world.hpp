#pragma once
// All ranks of the run, where each one lives, and the groups each scope forms.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rackqual/group.hpp"
#include "rackqual/scope.hpp"

namespace rackqual {

struct Placement {
  std::string host;
  std::string rack;
  int local_rank = 0;   // index among the ranks of the same host: the device it drives
  int local_size = 1;
};

class World {
 public:
  // Starts MPI (thread level: multiple, for the deadline watchdog) and learns the topology.
  World(int* argc, char*** argv);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  const Placement& placement() const { return placements_[rank_]; }
  const std::vector<Placement>& placements() const { return placements_; }
  std::vector<std::string> hosts() const;

  // This rank's group for a scope (built once, then cached).
  const Group& group(Scope scope);
  const Group& all() { return group(Scope::cluster); }

  // Every rank's text, on rank 0 only.
  std::vector<std::string> gather(const std::string& text) const;
  // Rank 0's text, on every rank.
  std::string broadcast(const std::string& text) const;
  int max(int value) const;

  // Ends every rank at once: the last resort for a hung collective.
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0;
  int size_ = 1;
  std::vector<Placement> placements_;
  std::map<Scope, Group> groups_;
};

}  // namespace rackqual
