#pragma once
// Where ranks live: host and rack of every rank, and the groups each scope forms. The one
// source of host and rack identity; an inventory will plug in here.
#include <string>
#include <vector>

#include "rackqual/scope.hpp"

namespace rackqual {

struct Placement {
  std::string host;
  std::string rack;
  int local_rank = 0;   // index among the ranks of the same host: the device it drives
  int local_size = 1;
};

// This process's host and rack as it knows them: the host name, unless RACKQUAL_HOST or
// RACKQUAL_RACK override them (a documented seam for tests and chaos drills, and for sites
// whose host names mislead); a host is its own rack by default.
Placement local_identity();

// Every rank's placement from every rank's host and rack (index = world rank): local ranks
// count the ranks of the same host in world order.
std::vector<Placement> place(const std::vector<std::pair<std::string, std::string>>& host_and_rack);

// The name of the group `rank` belongs to at a scope ("cluster" for the whole world).
std::string group_name(Scope scope, const std::vector<Placement>& placements, int rank);
// The world ranks of `rank`'s group at a scope, in world order.
std::vector<int> group_members(Scope scope, const std::vector<Placement>& placements, int rank);
// Distinct hosts in world-rank order.
std::vector<std::string> hosts_of(const std::vector<Placement>& placements);

}  // namespace rackqual
