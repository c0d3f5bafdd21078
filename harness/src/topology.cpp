#include "rackqual/topology.hpp"

#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <set>

namespace rackqual {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

}  // namespace

Placement local_identity() {
  Placement p;
  p.host = env_or("RACKQUAL_HOST", host_name());
  p.rack = env_or("RACKQUAL_RACK", p.host);
  return p;
}

std::vector<Placement> place(const std::vector<std::pair<std::string, std::string>>& host_and_rack) {
  std::vector<Placement> out(host_and_rack.size());
  for (std::size_t r = 0; r < out.size(); ++r) {
    out[r].host = host_and_rack[r].first;
    out[r].rack = host_and_rack[r].second;
    out[r].local_rank = 0;
    out[r].local_size = 0;
    for (std::size_t q = 0; q < out.size(); ++q) {
      if (host_and_rack[q].first != out[r].host) continue;
      if (q < r) ++out[r].local_rank;
      ++out[r].local_size;
    }
  }
  return out;
}

std::string group_name(Scope scope, const std::vector<Placement>& placements, int rank) {
  const Placement& p = placements.at(static_cast<std::size_t>(rank));
  switch (scope) {
    case Scope::gpu:
    case Scope::node:
    case Scope::nvlink_domain: return p.host;
    case Scope::rack: return p.rack;
    case Scope::cluster: return "cluster";
  }
  return "";
}

std::vector<int> group_members(Scope scope, const std::vector<Placement>& placements, int rank) {
  if (scope == Scope::gpu) return {rank};
  const std::string name = group_name(scope, placements, rank);
  std::vector<int> out;
  for (int q = 0; q < static_cast<int>(placements.size()); ++q)
    if (group_name(scope, placements, q) == name) out.push_back(q);
  return out;
}

std::vector<std::string> hosts_of(const std::vector<Placement>& placements) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& p : placements)
    if (seen.insert(p.host).second) out.push_back(p.host);
  return out;
}

}  // namespace rackqual
