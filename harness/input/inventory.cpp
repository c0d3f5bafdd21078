#include "rackqual/input/inventory.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "rackqual/base/error.hpp"
#include "rackqual/base/name.hpp"
#include "rackqual/base/text.hpp"
#include "yaml_file.hpp"

namespace rackqual {
namespace {

std::string short_name(const std::string& host) { return host.substr(0, host.find('.')); }

// A name (name.hpp): racks, hosts and domains name records, groups and files.
std::string name_of(const YamlFile& f, const YAML::Node& node, const std::string& field) {
  std::string name = f.scalar(node, field);
  if (const auto problem = name_problem(name)) f.fail(node, field, *problem);
  return name;
}

int gpu_count(const YamlFile& f, const YAML::Node& node, const std::string& field) {
  const double v = f.number(node, field);
  if (!(v >= 1 && v <= 1e6) || v != std::floor(v))
    f.fail(node, field, "expected a whole number of GPUs, at least 1; got '" + node.Scalar() + "'");
  return static_cast<int>(v);
}

// NVLink links each GPU should have up: a whole number from 1 to 64.
int link_count(const YamlFile& f, const YAML::Node& node, const std::string& field) {
  const double v = f.number(node, field);
  if (!(v >= 1 && v <= 64) || v != std::floor(v))
    f.fail(node, field, "expected a whole number of NVLink links per GPU, 1 to 64; got '" + node.Scalar() + "'");
  return static_cast<int>(v);
}

// One host of a rack: a name, or {name, gpus, nvlink_domain, nvlinks}; gpus, nvlink_domain and
// nvlinks default to the rack's.
InventoryHost read_host(const YamlFile& f, const YAML::Node& node, const YAML::Node& rack_node, const std::string& rack_field) {
  InventoryHost h;
  h.line = YamlFile::line(node);
  const bool listed_alone = node.IsScalar();
  if (listed_alone) {
    h.name = name_of(f, node, rack_field + ".hosts[]");
  } else {
    f.expect_map(node, rack_field + ".hosts[]", {"name", "gpus", "nvlink_domain", "nvlinks"});
    h.name = name_of(f, f.required(node, "name", rack_field + ".hosts[]"), rack_field + ".hosts[].name");
  }
  h.field = rack_field + ".hosts[" + h.name + "]";
  const bool own_gpus = !listed_alone && node["gpus"];
  const YAML::Node gpus = own_gpus ? node["gpus"] : rack_node["gpus"];
  if (!gpus) f.fail(node, h.field + ".gpus", "required field is missing (give it here or as the rack's gpus)");
  h.gpus_field = own_gpus ? h.field + ".gpus" : rack_field + ".gpus";
  h.gpus = gpu_count(f, gpus, h.gpus_field);
  h.gpus_line = YamlFile::line(gpus);
  if (!listed_alone && node["nvlink_domain"])
    h.nvlink_domain = name_of(f, node["nvlink_domain"], h.field + ".nvlink_domain");
  else if (rack_node["nvlink_domain"])
    h.nvlink_domain = name_of(f, rack_node["nvlink_domain"], rack_field + ".nvlink_domain");
  if (!listed_alone && node["nvlinks"]) h.nvlinks = link_count(f, node["nvlinks"], h.field + ".nvlinks");
  else if (rack_node["nvlinks"]) h.nvlinks = link_count(f, rack_node["nvlinks"], rack_field + ".nvlinks");
  return h;
}

}  // namespace

std::pair<const InventoryRack*, const InventoryHost*> Inventory::find(const std::string& host) const {
  for (const bool exact : {true, false})
    for (const auto& rack : racks)
      for (const auto& h : rack.hosts)
        if (exact ? h.name == host : short_name(h.name) == short_name(host)) return {&rack, &h};
  return {nullptr, nullptr};
}

Inventory load_inventory(const std::string& path) {
  const YamlFile f(path);
  return parse_inventory(path, f.text());
}

std::string read_inventory_text(const std::string& path) { return YamlFile(path).text(); }

Inventory parse_inventory(const std::string& path, const std::string& text) {
  const YamlFile f(path, text);
  const YAML::Node& root = f.root();
  f.expect_map(root, "", {"cluster", "racks"});
  Inventory inv;
  inv.path = path;
  if (root["cluster"]) inv.cluster = name_of(f, root["cluster"], "cluster");
  const YAML::Node racks = f.required(root, "racks", "");
  for (const auto& item : root)   // the line of "racks:", which errors about the whole list name
    if (item.first.Scalar() == "racks") inv.racks_line = YamlFile::line(item.first);
  if (!racks.IsSequence() || racks.size() == 0) f.fail(racks, "racks", "expected a non-empty list of racks");

  std::map<std::string, int> rack_lines, host_lines;
  for (std::size_t i = 0; i < racks.size(); ++i) {
    const YAML::Node node = racks[i];
    const std::string at = "racks[" + std::to_string(i) + "]";
    f.expect_map(node, at, {"name", "leaf_switch", "nvlink_domain", "gpus", "nvlinks", "hosts"});
    InventoryRack rack;
    rack.name = name_of(f, f.required(node, "name", at), at + ".name");
    const std::string field = "racks[" + rack.name + "]";
    if (const auto [it, fresh] = rack_lines.emplace(rack.name, YamlFile::line(node)); !fresh)
      f.fail(node["name"], field + ".name", "rack listed twice (first at line " + std::to_string(it->second) + ")");
    if (node["leaf_switch"]) rack.leaf_switch = name_of(f, node["leaf_switch"], field + ".leaf_switch");
    if (node["gpus"]) gpu_count(f, node["gpus"], field + ".gpus");
    const YAML::Node hosts = node["hosts"];
    if (!hosts) f.fail(node, field + ".hosts", "rack " + rack.name + " lists no hosts");
    if (!hosts.IsSequence()) f.fail(hosts, field + ".hosts", "expected a list of hosts");
    if (hosts.size() == 0) f.fail(hosts, field + ".hosts", "rack " + rack.name + " lists no hosts");
    for (const auto& host_node : hosts) {
      InventoryHost host = read_host(f, host_node, node, field);
      if (const auto [it, fresh] = host_lines.emplace(host.name, host.line); !fresh)
        f.fail(host_node, host.field, "host listed twice (first at line " + std::to_string(it->second) + ")");
      rack.hosts.push_back(std::move(host));
    }
    inv.racks.push_back(std::move(rack));
  }
  return inv;
}

std::vector<Placement> place_by_inventory(const Inventory& inventory, const std::vector<HostAndRack>& identities,
                                          bool missing_gpus_allowed) {
  std::vector<Placement> out(identities.size());
  std::map<std::string, int> ranks_on;                        // listed host -> its ranks
  std::vector<std::pair<std::string, std::vector<int>>> missing;   // hosts not listed, with their ranks
  for (std::size_t r = 0; r < identities.size(); ++r) {
    const std::string& host = identities[r].first;
    const auto [rack, listed] = inventory.find(host);
    if (!listed) {
      auto it = std::find_if(missing.begin(), missing.end(), [&](const auto& m) { return m.first == host; });
      if (it == missing.end()) it = missing.insert(missing.end(), {host, {}});
      it->second.push_back(static_cast<int>(r));
      continue;
    }
    Placement& p = out[r];
    p.host = listed->name;
    p.rack = rack->name;
    p.leaf_switch = rack->leaf_switch;
    p.nvlink_domain = listed->nvlink_domain;
    p.local_rank = ranks_on[listed->name]++;
  }
  if (!missing.empty())
    throw InputError(inventory.path, inventory.racks_line, "racks",
                     std::string(missing.size() == 1 ? "host" : "hosts") + " not in the inventory: " +
                         join(missing, [](const auto& m) {
                           return m.first + " (rank" + (m.second.size() == 1 ? " " : "s ") +
                                  join(m.second, [](int r) { return std::to_string(r); }) + ")";
                         }, "; "));
  for (auto& p : out) p.local_size = ranks_on[p.host];
  // Every listed host that runs ranks, in the file's order.
  for (const auto& rack : inventory.racks)
    for (const auto& host : rack.hosts) {
      const auto it = ranks_on.find(host.name);
      if (it == ranks_on.end() || it->second == host.gpus || (missing_gpus_allowed && it->second < host.gpus)) continue;
      const int ranks = it->second;
      throw InputError(inventory.path, host.gpus_line, host.gpus_field,
                       "the inventory lists " + std::to_string(host.gpus) + " GPU" + (host.gpus == 1 ? "" : "s") + " on " +
                           host.name + " but " + std::to_string(ranks) + " rank" + (ranks == 1 ? "" : "s") + " run there" +
                           (ranks < host.gpus ? " (one rank per GPU: a GPU is missing, or too few ranks were launched)"
                                              : " (one rank per GPU: more ranks than GPUs)"));
    }
  return out;
}

}  // namespace rackqual
