#include "rackqual/base/topology.hpp"

#include <unistd.h>

#include <array>
#include <climits>
#include <cstdlib>
#include <map>
#include <set>

#include "rackqual/base/error.hpp"

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

std::string short_name(const std::string& host) { return host.substr(0, host.find('.')); }

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t at; (at = text.find(separator, start)) != std::string::npos; start = at + 1)
    out.push_back(text.substr(start, at - start));
  out.push_back(text.substr(start));
  return out;
}

// Slurm's name for this node (SLURMD_NODENAME) when srun itself started this task: its task id
// is this rank's (an environment copied from the host that ran mpiexec names that host).
std::string slurm_node_name() {
  const std::string node = env_or("SLURMD_NODENAME", ""), task = env_or("SLURM_PROCID", "");
  const std::string rank = env_or("PMI_RANK", task);
  return node.empty() || task.empty() || rank != task ? "" : node;
}

}  // namespace

Placement local_identity() {
  Placement p;
  const std::string slurm_node = slurm_node_name();
  const std::string real_host = slurm_node.empty() ? host_name() : slurm_node;
  p.host = env_or("RACKQUAL_HOST", real_host);
  if (const auto leaf = slurm_leaf_switch(env_or("SLURM_TOPOLOGY_ADDR", ""), env_or("SLURM_TOPOLOGY_ADDR_PATTERN", ""),
                                          real_host))
    p.leaf_switch = *leaf;
  p.rack = env_or("RACKQUAL_RACK", p.leaf_switch.empty() ? p.host : p.leaf_switch);
  return p;
}

std::optional<std::string> slurm_leaf_switch(const std::string& address, const std::string& pattern,
                                             const std::string& host) {
  if (address.empty() || pattern.empty()) return std::nullopt;
  const auto names = split(address, '.'), kinds = split(pattern, '.');
  // Top-level switch first, the node last; the leaf is the switch just above the node.
  if (names.size() != kinds.size() || names.size() < 2 || kinds.back() != "node") return std::nullopt;
  if (short_name(names.back()) != short_name(host)) return std::nullopt;
  const std::string& leaf = names[names.size() - 2];
  if (kinds[kinds.size() - 2] == "node" || leaf.empty()) return std::nullopt;
  return leaf;
}

std::vector<Placement> place(const std::vector<HostAndRack>& host_and_rack) {
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

std::string Simulation::text() const {
  return std::to_string(racks) + "x" + std::to_string(hosts) + "x" + std::to_string(gpus);
}

namespace {

// The counts of "RxHxG", each of 1 to 4 digits; none when the text has another shape.
std::optional<std::array<int, 3>> simulation_counts(const std::string& text) {
  std::array<int, 3> counts{};
  std::size_t at = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (i > 0 && (at >= text.size() || text[at++] != 'x')) return std::nullopt;
    const std::size_t start = at;
    while (at < text.size() && at - start < 5 && text[at] >= '0' && text[at] <= '9') ++at;
    if (at == start || at - start > 4) return std::nullopt;
    counts[i] = std::stoi(text.substr(start, at - start));
  }
  if (at != text.size()) return std::nullopt;
  return counts;
}

}  // namespace

Simulation parse_simulation(const std::string& text) {
  const auto counts = simulation_counts(text);
  if (!counts)
    throw FieldError("--simulate", "expected RACKSxHOSTSxGPUS (racks, hosts per rack, GPUs per host), such as 2x2x2; got '" +
                                       text + "'");
  Simulation s{(*counts)[0], (*counts)[1], (*counts)[2]};
  if (s.racks < 1 || s.hosts < 1 || s.gpus < 1)
    throw FieldError("--simulate", "each count must be at least 1, got '" + text + "'");
  return s;
}

std::vector<Placement> place_simulated(const Simulation& simulation, int world_size) {
  if (world_size != simulation.ranks())
    throw FieldError("--simulate", simulation.text() + " places " + std::to_string(simulation.ranks()) +
                                       " ranks, but the run has " + std::to_string(world_size) + " (launch " +
                                       std::to_string(simulation.ranks()) + " ranks)");
  std::vector<Placement> out(static_cast<std::size_t>(world_size));
  for (int r = 0; r < world_size; ++r) {
    const int host = r / simulation.gpus, rack = host / simulation.hosts;
    Placement& p = out[static_cast<std::size_t>(r)];
    p.rack = 'r' + std::to_string(rack);
    p.host = p.rack + "-h" + std::to_string(host % simulation.hosts);
    p.local_rank = r % simulation.gpus;
    p.local_size = simulation.gpus;
  }
  return out;
}

void add_nvlink_domains(std::vector<Placement>& placements, const std::vector<std::string>& reported) {
  for (std::size_t r = 0; r < placements.size() && r < reported.size(); ++r)
    if (placements[r].nvlink_domain.empty()) placements[r].nvlink_domain = reported[r];
}

const std::string& nvlink_domain_of(const Placement& placement) {
  return placement.nvlink_domain.empty() ? placement.host : placement.nvlink_domain;
}

std::string group_name(Scope scope, const std::vector<Placement>& placements, int rank) {
  const Placement& p = placements.at(static_cast<std::size_t>(rank));
  switch (scope) {
    case Scope::gpu:
    case Scope::node: return p.host;
    case Scope::nvlink_domain: return nvlink_domain_of(p);
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

nlohmann::json describe_topology(const std::vector<Placement>& placements, const TopologyOptions& options) {
  using json = nlohmann::json;
  json racks = json::object(), domains = json::object();
  std::set<std::pair<std::string, std::string>> seen_in_rack, seen_in_domain;
  for (const auto& p : placements) {
    json& rack = racks[p.rack];
    if (rack.is_null()) rack = {{"hosts", json::array()}, {"leaf_switch", nullptr}};
    if (rack["leaf_switch"].is_null() && !p.leaf_switch.empty()) rack["leaf_switch"] = p.leaf_switch;
    if (seen_in_rack.emplace(p.rack, p.host).second) rack["hosts"].push_back(p.host);
    const std::string& domain = nvlink_domain_of(p);
    if (seen_in_domain.emplace(domain, p.host).second) domains[domain].push_back(p.host);
  }
  const char* source = options.simulation ? "simulate" : !options.inventory.empty() ? "inventory" : "launcher";
  return {{"source", source},
          {"simulate", options.simulation ? json(options.simulation->text()) : json(nullptr)},
          {"inventory", options.inventory.empty() ? json(nullptr) : json(options.inventory)},
          {"racks", racks},
          {"nvlink_domains", domains}};
}

}  // namespace rackqual
