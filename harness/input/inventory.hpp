#pragma once
// The inventory: a YAML file naming the cluster's racks, the hosts of each, their GPUs, their
// NVLink domain and the rack's leaf switch. Where it is given, it places every rank (by its host
// name) and a rank it does not place stops the run before anything runs.
//
//   cluster: c1
//   racks:
//     - name: r17
//       leaf_switch: leaf-17        # optional
//       nvlink_domain: nvl72-r17    # optional: every host of the rack in one NVLink domain (NVL72)
//       gpus: 4                     # optional: GPUs of each host that does not say
//       nvlinks: 18                 # optional: NVLink links up on each GPU (qualify counts them)
//       hosts:
//         - {name: node001, gpus: 8}
//         - {name: node002, gpus: 8, nvlink_domain: hgx-2}   # optional per host
//         - node003                 # a name alone takes the rack's gpus
#include <string>
#include <vector>

#include "rackqual/base/topology.hpp"

namespace rackqual {

struct InventoryHost {
  std::string name;
  int gpus = 0;
  std::string nvlink_domain;   // the host's own, else the rack's; empty: neither names one
  int nvlinks = 0;             // NVLink links each GPU should have up, the host's or the rack's; 0: not said
  int line = 0;                // where the host is listed
  std::string field;           // its path in the file: racks[r17].hosts[node001]
  int gpus_line = 0;           // where its GPU count is written: its own, or its rack's
  std::string gpus_field;      // racks[r17].hosts[node001].gpus, or racks[r17].gpus
};

struct InventoryRack {
  std::string name;
  std::string leaf_switch;
  std::vector<InventoryHost> hosts;
};

struct Inventory {
  std::string path;
  std::string cluster;
  std::vector<InventoryRack> racks;
  int racks_line = 0;

  // The rack and host listed under `host` (exactly, else by short name: "node001" matches
  // "node001.example.com" either way round); nulls when it is not listed.
  std::pair<const InventoryRack*, const InventoryHost*> find(const std::string& host) const;
};

// Reads and validates an inventory file. Throws InputError (file:line: field: message) for
// malformed YAML, an unknown or missing field, a rack without hosts, a host or rack listed twice,
// a GPU count below 1.
Inventory load_inventory(const std::string& path);
// An inventory file's text, read and checked as YAML (InputError as load_inventory), so that
// one rank reads it and every rank parses the same text.
std::string read_inventory_text(const std::string& path);
// The same from the file's text, read elsewhere (every rank parses what rank 0 read).
Inventory parse_inventory(const std::string& path, const std::string& text);

// Every rank placed on its host's rack, leaf switch and NVLink domain as the inventory lists
// them (`identities`: each rank's host, index = world rank; what a rank says of its rack is not
// used). Throws InputError when a rank's host is not listed, or when a host runs another number
// of ranks than the GPUs listed for it: one rank per GPU, so fewer ranks means a GPU the host
// lacks (or a rank not launched) and more means ranks sharing a GPU.
// With `missing_gpus_allowed` (qualify, whose node verdict names a missing GPU), fewer ranks
// than GPUs is accepted.
std::vector<Placement> place_by_inventory(const Inventory& inventory, const std::vector<HostAndRack>& identities,
                                          bool missing_gpus_allowed = false);

}  // namespace rackqual
