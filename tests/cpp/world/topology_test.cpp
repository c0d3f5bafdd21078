#include "rackqual/base/topology.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <thread>

#include "rackqual/base/error.hpp"
#include "rackqual/world/fake_world.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

std::vector<std::string> hosts_in(const std::vector<Placement>& placements) {
  std::vector<std::string> out;
  for (const auto& p : placements) out.push_back(p.host);
  return out;
}

// ---- what ranks report of themselves ----

TEST(Topology, LocalRanksCountTheRanksOfEachHostInWorldOrder) {
  const auto placed = place({{"a", "r1"}, {"b", "r1"}, {"a", "r1"}, {"c", "r2"}});
  EXPECT_EQ(placed[2].local_rank, 1);
  EXPECT_EQ(placed[2].local_size, 2);
  EXPECT_EQ(placed[1].local_rank, 0);
  EXPECT_EQ(placed[1].local_size, 1);
  EXPECT_EQ(group_members(Scope::node, placed, 2), (std::vector<int>{0, 2}));
  EXPECT_EQ(group_members(Scope::rack, placed, 1), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(group_members(Scope::gpu, placed, 1), (std::vector<int>{1}));
  EXPECT_EQ(group_members(Scope::cluster, placed, 3), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(group_name(Scope::rack, placed, 3), "r2");
  EXPECT_EQ(group_name(Scope::cluster, placed, 3), "cluster");
  EXPECT_EQ(hosts_of(placed), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(Topology, AnNvlinkDomainIsTheHostUnlessOneIsPlaced) {
  auto placed = place({{"a", "r"}, {"a", "r"}, {"b", "r"}, {"c", "r"}});
  EXPECT_EQ(group_name(Scope::nvlink_domain, placed, 0), "a");
  EXPECT_EQ(group_members(Scope::nvlink_domain, placed, 2), (std::vector<int>{2}));
  placed[3].nvlink_domain = "from-inventory";
  add_nvlink_domains(placed, {"fabric/1", "fabric/1", "fabric/1", "fabric/2"});
  EXPECT_EQ(group_members(Scope::nvlink_domain, placed, 2), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(group_name(Scope::nvlink_domain, placed, 0), "fabric/1");
  EXPECT_EQ(group_name(Scope::nvlink_domain, placed, 3), "from-inventory");   // the inventory's stays
  add_nvlink_domains(placed, {"", "", "", ""});
  EXPECT_EQ(group_name(Scope::nvlink_domain, placed, 0), "fabric/1");
  // The node scope is still the host.
  EXPECT_EQ(group_members(Scope::node, placed, 0), (std::vector<int>{0, 1}));
}

TEST(Topology, SlurmLeafSwitchIsTheSwitchAboveTheNode) {
  EXPECT_EQ(slurm_leaf_switch("spine1.leaf3.node017", "switch.switch.node", "node017"), "leaf3");
  EXPECT_EQ(slurm_leaf_switch("leaf3.node017", "switch.node", "node017.cluster.example"), "leaf3");
  EXPECT_EQ(slurm_leaf_switch("leaf3.node017.cluster", "switch.node", "node017"), std::nullopt);   // parts differ
  EXPECT_EQ(slurm_leaf_switch("spine1.leaf3.node018", "switch.switch.node", "node017"), std::nullopt);   // another node's
  EXPECT_EQ(slurm_leaf_switch("node017", "node", "node017"), std::nullopt);   // no switch
  EXPECT_EQ(slurm_leaf_switch("", "", "node017"), std::nullopt);
  EXPECT_EQ(slurm_leaf_switch("a.b.node017", "switch.node", "node017"), std::nullopt);
}

class Environment {
 public:
  ~Environment() {
    for (const auto& name : set_) unsetenv(name.c_str());
  }
  void set(const std::string& name, const std::string& value) {
    setenv(name.c_str(), value.c_str(), 1);
    set_.push_back(name);
  }

 private:
  std::vector<std::string> set_;
};

std::string this_host() {
  char name[HOST_NAME_MAX + 1] = {};
  gethostname(name, sizeof name - 1);
  return name;
}

TEST(Topology, LocalIdentityTakesSlurmsLeafSwitchAsTheRack) {
  ASSERT_EQ(std::getenv("RACKQUAL_RACK"), nullptr);
  ASSERT_EQ(std::getenv("RACKQUAL_HOST"), nullptr);
  Environment env;
  EXPECT_EQ(local_identity().rack, this_host());   // one rack per host
  env.set("SLURM_TOPOLOGY_ADDR", "spine.leaf9." + this_host());
  env.set("SLURM_TOPOLOGY_ADDR_PATTERN", "switch.switch.node");
  Placement p = local_identity();
  EXPECT_EQ(p.host, this_host());
  EXPECT_EQ(p.rack, "leaf9");
  EXPECT_EQ(p.leaf_switch, "leaf9");
  env.set("RACKQUAL_RACK", "r17");   // the documented override comes first
  env.set("RACKQUAL_HOST", "node-a");
  p = local_identity();
  EXPECT_EQ(p.host, "node-a");
  EXPECT_EQ(p.rack, "r17");
  EXPECT_EQ(p.leaf_switch, "leaf9");
}

// ---- simulation ----

TEST(Topology, SimulationShapeIsRacksHostsGpus) {
  const Simulation s = parse_simulation("2x3x4");
  EXPECT_EQ(s.racks, 2);
  EXPECT_EQ(s.hosts, 3);
  EXPECT_EQ(s.gpus, 4);
  EXPECT_EQ(s.ranks(), 24);
  EXPECT_EQ(s.text(), "2x3x4");
  for (const char* bad : {"2x2", "2x2x2x2", "0x1x1", "1x0x1", "axbxc", "", "2X2X2", "-1x2x2"}) {
    try {
      parse_simulation(bad);
      ADD_FAILURE() << bad;
    } catch (const FieldError& e) {
      EXPECT_EQ(e.field(), "--simulate") << bad;
    }
  }
}

TEST(Topology, SimulatedRanksFillHostsThenRacks) {
  const auto placed = place_simulated(parse_simulation("2x2x2"), 8);
  EXPECT_EQ(hosts_in(placed), (std::vector<std::string>{"r0-h0", "r0-h0", "r0-h1", "r0-h1", "r1-h0", "r1-h0", "r1-h1", "r1-h1"}));
  for (int r = 0; r < 8; ++r) {
    const Placement& p = placed[static_cast<std::size_t>(r)];
    EXPECT_EQ(p.rack, r < 4 ? "r0" : "r1");
    EXPECT_EQ(p.local_rank, r % 2);
    EXPECT_EQ(p.local_size, 2);
  }
  EXPECT_EQ(group_members(Scope::rack, placed, 5), (std::vector<int>{4, 5, 6, 7}));
  EXPECT_EQ(group_name(Scope::rack, placed, 5), "r1");
  EXPECT_EQ(group_members(Scope::node, placed, 5), (std::vector<int>{4, 5}));
  EXPECT_EQ(group_members(Scope::nvlink_domain, placed, 6), (std::vector<int>{6, 7}));
  try {
    place_simulated(parse_simulation("2x2x2"), 4);
    FAIL() << "no error";
  } catch (const FieldError& e) {
    EXPECT_EQ(e.field(), "--simulate");
    EXPECT_EQ(e.message(), "2x2x2 places 8 ranks, but the run has 4 (launch 8 ranks)");
  }
}

TEST(Topology, DescriptionForTheManifest) {
  TopologyOptions options;
  options.simulation = parse_simulation("2x2x1");
  auto placed = place_simulated(*options.simulation, 4);
  placed[0].leaf_switch = "leaf-0";
  add_nvlink_domains(placed, {"d", "d", "", ""});
  const auto j = describe_topology(placed, options);
  EXPECT_EQ(j["source"], "simulate");
  EXPECT_EQ(j["simulate"], "2x2x1");
  EXPECT_TRUE(j["inventory"].is_null());
  EXPECT_EQ(j["racks"], nlohmann::json::parse(R"({"r0": {"hosts": ["r0-h0", "r0-h1"], "leaf_switch": "leaf-0"},
                                                  "r1": {"hosts": ["r1-h0", "r1-h1"], "leaf_switch": null}})"));
  EXPECT_EQ(j["nvlink_domains"], nlohmann::json::parse(R"({"d": ["r0-h0", "r0-h1"], "r1-h0": ["r1-h0"], "r1-h1": ["r1-h1"]})"));
  EXPECT_EQ(describe_topology(placed, {})["source"], "launcher");
  EXPECT_EQ(describe_topology(placed, {"inv.yaml", std::nullopt})["inventory"], "inv.yaml");
}

// ---- a world of simulated ranks ----

// Runs `body` on every rank of a FakeCluster of `identities`, one thread each.
void on_every_rank(FakeCluster& cluster, const std::function<void(FakeWorld&)>& body) {
  std::vector<std::thread> ranks;
  for (int r = 0; r < cluster.size(); ++r)
    ranks.emplace_back([&, r] {
      FakeWorld world(cluster, r);
      body(world);
    });
  for (auto& t : ranks) t.join();
}

// 18 hosts of 4 GPUs, each its own rack, as the launcher reports them on a GB200 NVL72.
std::vector<HostAndRack> nvl72_hosts() {
  std::vector<HostAndRack> out;
  for (int h = 1; h <= 18; ++h) {
    const std::string host = "gb-r17-" + std::string(h < 10 ? "0" : "") + std::to_string(h);
    for (int g = 0; g < 4; ++g) out.emplace_back(host, host);
  }
  return out;
}

TEST(TopologyWorld, OneFabricCliqueAcross18HostsIsOne72RankNvlinkDomain) {
  FakeCluster cluster(nvl72_hosts());
  std::vector<int> domain_size(72), node_size(72), rack_size(72);
  std::vector<double> largest(72);
  std::vector<std::string> names(72);
  on_every_rank(cluster, [&](FakeWorld& world) {
    world.take_nvlink_domains("0b6a57ce-9f1d-4a4e-8a3c-2c1d9e0f7a55/7");
    const Group& domain = world.group(Scope::nvlink_domain);
    const auto r = static_cast<std::size_t>(world.rank());
    domain_size[r] = domain.size();
    names[r] = domain.name();
    largest[r] = domain.max_each({static_cast<double>(world.rank())})[0];   // every member takes part
    node_size[r] = world.group(Scope::node).size();
    rack_size[r] = world.group(Scope::rack).size();
  });
  for (std::size_t r = 0; r < 72; ++r) {
    EXPECT_EQ(domain_size[r], 72);
    EXPECT_EQ(names[r], "0b6a57ce-9f1d-4a4e-8a3c-2c1d9e0f7a55/7");
    EXPECT_EQ(largest[r], 71);
    EXPECT_EQ(node_size[r], 4);
    EXPECT_EQ(rack_size[r], 4);   // no inventory, no Slurm: a host is its own rack
  }
}

TEST(TopologyWorld, TwoCliquesAndAnUnregisteredGpu) {
  FakeCluster cluster(nvl72_hosts());
  std::vector<int> domain_size(72);
  std::vector<std::string> names(72);
  on_every_rank(cluster, [&](FakeWorld& world) {
    const int r = world.rank();
    // Hosts 1-9 in clique 1, hosts 10-18 in clique 2; rank 71's GPU never registered.
    std::optional<std::string> mine = r < 36 ? "c/1" : "c/2";
    if (r == 71) mine.reset();
    world.take_nvlink_domains(mine);
    domain_size[static_cast<std::size_t>(r)] = world.group(Scope::nvlink_domain).size();
    names[static_cast<std::size_t>(r)] = world.group(Scope::nvlink_domain).name();
  });
  EXPECT_EQ(domain_size[0], 36);
  EXPECT_EQ(names[0], "c/1");
  EXPECT_EQ(domain_size[36], 35);
  EXPECT_EQ(names[70], "c/2");
  EXPECT_EQ(domain_size[71], 1);   // its host alone, and no other rank of the host joins it
  EXPECT_EQ(names[71], "gb-r17-18");
}

TEST(TopologyWorld, PlacedBySimulationThenGrouped) {
  FakeCluster cluster(std::vector<HostAndRack>(8, {"one-machine", "one-machine"}));
  std::vector<std::string> racks(8);
  std::vector<int> rack_size(8), local(8);
  on_every_rank(cluster, [&](FakeWorld& world) {
    TopologyOptions options;
    options.simulation = parse_simulation("2x2x2");
    world.place(options);
    world.take_nvlink_domains(std::nullopt);
    const auto r = static_cast<std::size_t>(world.rank());
    racks[r] = world.group(Scope::rack).name();
    rack_size[r] = world.group(Scope::rack).size();
    local[r] = world.placement().local_rank;
    if (r == 0) {
      EXPECT_EQ(world.topology()["source"], "simulate");
    }
  });
  EXPECT_EQ(racks, (std::vector<std::string>{"r0", "r0", "r0", "r0", "r1", "r1", "r1", "r1"}));
  EXPECT_EQ(rack_size, std::vector<int>(8, 4));
  EXPECT_EQ(local, (std::vector<int>{0, 1, 0, 1, 0, 1, 0, 1}));
}

TEST(TopologyWorld, PlacedByInventoryWhoseDomainOutranksTheFabric) {
  unit::TempDir dir;
  const std::string path = dir.write("inv.yaml", R"(racks:
  - name: r1
    nvlink_domain: nvl-r1
    gpus: 2
    hosts: [a, b]
  - name: r2
    gpus: 2
    hosts: [c]
)");
  FakeCluster cluster({{"a", "?"}, {"a", "?"}, {"b", "?"}, {"b", "?"}, {"c", "?"}, {"c", "?"}});
  std::vector<std::string> domains(6), racks(6);
  on_every_rank(cluster, [&](FakeWorld& world) {
    world.place({path, std::nullopt});
    world.take_nvlink_domains("fabric/3");
    const auto r = static_cast<std::size_t>(world.rank());
    domains[r] = world.group(Scope::nvlink_domain).name();
    racks[r] = world.group(Scope::rack).name();
    if (r == 0) {
      EXPECT_EQ(world.topology()["inventory"], path);
    }
  });
  EXPECT_EQ(domains, (std::vector<std::string>{"nvl-r1", "nvl-r1", "nvl-r1", "nvl-r1", "fabric/3", "fabric/3"}));
  EXPECT_EQ(racks, (std::vector<std::string>{"r1", "r1", "r1", "r1", "r2", "r2"}));
}

TEST(TopologyWorld, EveryRankRaisesTheSameInventoryError) {
  unit::TempDir dir;
  const std::string path = dir.write("inv.yaml", "racks:\n  - name: r1\n    hosts:\n      - {name: a, gpus: 4}\n");
  FakeCluster cluster({{"a", "a"}, {"a", "a"}});
  std::vector<std::string> errors(2);
  on_every_rank(cluster, [&](FakeWorld& world) {
    try {
      world.place({path, std::nullopt});
    } catch (const InputError& e) {
      errors[static_cast<std::size_t>(world.rank())] = e.what();
    }
  });
  EXPECT_EQ(errors[0], path + ":4: racks[r1].hosts[a].gpus: the inventory lists 4 GPUs on a but 2 ranks run there "
                              "(one rank per GPU: a GPU is missing, or too few ranks were launched)");
  EXPECT_EQ(errors[1], errors[0]);

  // A file rank 0 cannot read: every rank says so.
  std::vector<std::string> unread(2);
  on_every_rank(cluster, [&](FakeWorld& world) {
    try {
      world.place({dir.path().string() + "/absent.yaml", std::nullopt});
    } catch (const InputError& e) {
      unread[static_cast<std::size_t>(world.rank())] = e.what();
    }
  });
  EXPECT_NE(unread[0].find("absent.yaml:1: file: cannot read"), std::string::npos) << unread[0];
  EXPECT_EQ(unread[1], unread[0]);
}

TEST(TopologyWorld, PlacementsAreFixedOnceAScopeGroupIsBuilt) {
  FakeCluster cluster(std::vector<HostAndRack>{{"a", "r"}});
  FakeWorld world(cluster, 0);
  world.take_nvlink_domains("d/1");   // the cluster group it uses changes nothing
  EXPECT_EQ(world.group(Scope::nvlink_domain).name(), "d/1");
  EXPECT_THROW(world.take_nvlink_domains("d/2"), std::logic_error);
}

}  // namespace
}  // namespace rackqual
