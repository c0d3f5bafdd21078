#pragma once
// Where ranks live: host, rack and NVLink domain of every rank, and the groups each scope forms.
// The one source of host and rack identity. Sources, first that applies: the simulation option
// (--simulate), an inventory file (inventory.hpp), else what each rank reports of itself (its
// host name; RACKQUAL_HOST/RACKQUAL_RACK; Slurm's leaf switch as its rack; a host is its own
// rack). NVLink domains: the inventory's, else what the backend reports (NVML's fabric
// information on GB200/GB300 NVL72), else the host.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rackqual/base/scope.hpp"

namespace rackqual {

struct Placement {
  std::string host;
  std::string rack;
  std::string nvlink_domain;   // the GPUs one NVLink fabric joins; empty: this host's alone
  std::string leaf_switch;     // where known (inventory, Slurm)
  int local_rank = 0;          // index among the ranks of the same host: the device it drives
  int local_size = 1;
};

// What a rank reports of itself at start-up: its host, and its rack.
using HostAndRack = std::pair<std::string, std::string>;

// This process's host and rack as it knows them: the host name (under srun, Slurm's name for the
// node, the one scontrol drains), unless RACKQUAL_HOST or RACKQUAL_RACK override them (a
// documented seam for tests and chaos drills, and for sites whose host names mislead); else
// under srun the leaf switch of Slurm's topology address; else a host is its own rack.
Placement local_identity();

// The leaf switch in Slurm's topology address (SLURM_TOPOLOGY_ADDR "spine1.leaf3.node017" with
// SLURM_TOPOLOGY_ADDR_PATTERN "switch.switch.node": "leaf3"). Nothing when the address has no
// switch, or when it ends in a node other than `host` (short names compared): an environment
// copied from the host that launched the ranks.
std::optional<std::string> slurm_leaf_switch(const std::string& address, const std::string& pattern,
                                             const std::string& host);

// Every rank's placement from every rank's host and rack (index = world rank): local ranks
// count the ranks of the same host in world order.
std::vector<Placement> place(const std::vector<HostAndRack>& host_and_rack);

// Simulated hosts and racks on whatever runs the ranks: RACKS x HOSTS per rack x GPUS per host.
struct Simulation {
  int racks = 1, hosts = 1, gpus = 1;
  int ranks() const { return racks * hosts * gpus; }
  std::string text() const;   // "2x2x2"
};
// "2x2x2"; throws FieldError on the --simulate option.
Simulation parse_simulation(const std::string& text);
// World rank r on simulated host r / GPUS, in rack r / (HOSTS x GPUS): hosts "r0-h0", "r0-h1",
// ... in racks "r0", "r1", ... Throws FieldError when the world is not RACKS x HOSTS x GPUS ranks.
std::vector<Placement> place_simulated(const Simulation& simulation, int world_size);

// How the ranks of a run are placed.
struct TopologyOptions {
  std::string inventory;                  // an inventory file; empty: none
  std::optional<Simulation> simulation;   // --simulate
  bool missing_gpus_allowed = false;      // qualify: fewer ranks than a host's GPUs is judged, not refused
};

// The NVLink domain of every rank whose placement names none, from what its backend reports
// (index = world rank; empty: nothing reported): a domain the inventory names stays.
void add_nvlink_domains(std::vector<Placement>& placements, const std::vector<std::string>& reported);
// The rank's NVLink domain: the one placed, else its host alone.
const std::string& nvlink_domain_of(const Placement& placement);

// The name of the group `rank` belongs to at a scope ("cluster" for the whole world).
std::string group_name(Scope scope, const std::vector<Placement>& placements, int rank);
// The world ranks of `rank`'s group at a scope, in world order.
std::vector<int> group_members(Scope scope, const std::vector<Placement>& placements, int rank);
// Distinct hosts in world-rank order.
std::vector<std::string> hosts_of(const std::vector<Placement>& placements);

// The topology for the run manifest: {"source": "simulate" | "inventory" | "launcher",
// "simulate": "2x2x2" | null, "inventory": path | null, "racks": {rack: {"hosts": [...],
// "leaf_switch": name | null}}, "nvlink_domains": {domain: [hosts]}}, hosts in world-rank order.
nlohmann::json describe_topology(const std::vector<Placement>& placements, const TopologyOptions& options);

}  // namespace rackqual
