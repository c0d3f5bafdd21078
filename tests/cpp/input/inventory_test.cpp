#include "rackqual/input/inventory.hpp"

#include <gtest/gtest.h>

#include "rackqual/base/error.hpp"
#include "temp_dir.hpp"

namespace rackqual {
namespace {

const char* const two_racks = R"(cluster: c1
racks:
  - name: r1
    leaf_switch: leaf-1
    hosts:
      - {name: n1, gpus: 2}
      - {name: n2, gpus: 2, nvlink_domain: hgx-n2}
  - name: r2
    nvlink_domain: nvl-r2
    gpus: 1
    hosts: [n3, n4.example.com]
)";

class InventoryTest : public ::testing::Test {
 protected:
  Inventory parse(const std::string& text) { return parse_inventory("inv.yaml", text); }

  // Parses `text`; expects an InputError naming `line` and `field`, and returns its message.
  std::string error(const std::string& text, int line, const std::string& field) {
    try {
      parse(text);
    } catch (const InputError& e) {
      EXPECT_EQ(e.file(), "inv.yaml");
      EXPECT_EQ(e.line(), line) << e.what();
      EXPECT_EQ(e.field(), field) << e.what();
      return e.message();
    }
    ADD_FAILURE() << "no InputError for:\n" << text;
    return "";
  }

  // Places `hosts` (one rank each, in order) by `text`; expects an InputError naming `line` and `field`.
  std::string placing_error(const std::string& text, const std::vector<std::string>& hosts, int line,
                            const std::string& field) {
    std::vector<HostAndRack> identities;
    for (const auto& h : hosts) identities.emplace_back(h, h);
    try {
      place_by_inventory(parse(text), identities);
    } catch (const InputError& e) {
      EXPECT_EQ(e.line(), line) << e.what();
      EXPECT_EQ(e.field(), field) << e.what();
      return e.message();
    }
    ADD_FAILURE() << "no InputError placing ranks by:\n" << text;
    return "";
  }
};

TEST_F(InventoryTest, ReadsRacksHostsGpusDomainsAndLeafSwitches) {
  const Inventory inv = parse(two_racks);
  EXPECT_EQ(inv.cluster, "c1");
  ASSERT_EQ(inv.racks.size(), 2u);
  EXPECT_EQ(inv.racks[0].name, "r1");
  EXPECT_EQ(inv.racks[0].leaf_switch, "leaf-1");
  ASSERT_EQ(inv.racks[0].hosts.size(), 2u);
  const InventoryHost& n1 = inv.racks[0].hosts[0];
  EXPECT_EQ(n1.name, "n1");
  EXPECT_EQ(n1.gpus, 2);
  EXPECT_EQ(n1.nvlink_domain, "");   // the host alone
  EXPECT_EQ(n1.line, 6);
  EXPECT_EQ(n1.gpus_line, 6);
  EXPECT_EQ(n1.field, "racks[r1].hosts[n1]");
  EXPECT_EQ(inv.racks[0].hosts[1].nvlink_domain, "hgx-n2");
  // A name alone takes the rack's GPUs and NVLink domain.
  ASSERT_EQ(inv.racks[1].hosts.size(), 2u);
  EXPECT_EQ(inv.racks[1].hosts[0].name, "n3");
  EXPECT_EQ(inv.racks[1].hosts[0].gpus, 1);
  EXPECT_EQ(inv.racks[1].hosts[0].gpus_line, 10);
  EXPECT_EQ(inv.racks[1].hosts[1].nvlink_domain, "nvl-r2");
  EXPECT_EQ(inv.racks[1].leaf_switch, "");
}

TEST_F(InventoryTest, FindsHostsByFullOrShortName) {
  const Inventory inv = parse(two_racks);
  EXPECT_EQ(inv.find("n2").second->name, "n2");
  EXPECT_EQ(inv.find("n2.example.com").second->name, "n2");
  EXPECT_EQ(inv.find("n4").second->name, "n4.example.com");
  EXPECT_EQ(inv.find("n4").first->name, "r2");
  EXPECT_EQ(inv.find("n5").second, nullptr);
}

TEST_F(InventoryTest, TheExampleLoads) {
  const Inventory inv = load_inventory(RACKQUAL_SOURCE_DIR "/suites/inventory/example.yaml");
  ASSERT_EQ(inv.racks.size(), 2u);
  EXPECT_EQ(inv.racks[1].hosts.size(), 18u);
  for (const auto& host : inv.racks[1].hosts) {
    EXPECT_EQ(host.gpus, 4);
    EXPECT_EQ(host.nvlink_domain, "nvl72-r18");
  }
}

TEST_F(InventoryTest, BadFilesNameTheLineAndField) {
  EXPECT_NE(error("cluster: c1\nracks:\n  - name: r1\n    hosts: []\n", 4, "racks[r1].hosts").find("rack r1 lists no hosts"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - name: r1\n    leaf_switch: l1\n", 2, "racks[r1].hosts").find("lists no hosts"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - name: r1\n    hosts: [{name: a, gpus: 1}]\n  - name: r2\n    hosts:\n"
                  "      - {name: b, gpus: 1}\n      - {name: a, gpus: 1}\n",
                  7, "racks[r2].hosts[a]")
                .find("host listed twice (first at line 3)"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - {name: r1, hosts: [{name: a, gpus: 1}]}\n  - {name: r1, hosts: [{name: b, gpus: 1}]}\n", 3,
                  "racks[r1].name")
                .find("rack listed twice (first at line 2)"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - name: r1\n    hosts:\n      - {name: a, gpu: 8}\n", 4, "racks[r1].hosts[].gpu")
                .find("unknown field"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - name: r1\n    hosts:\n      - {name: a}\n", 4, "racks[r1].hosts[a].gpus")
                .find("required field is missing"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - name: r1\n    hosts:\n      - name: a\n        gpus: 0\n", 5, "racks[r1].hosts[a].gpus")
                .find("at least 1"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - name: r1\n    hosts:\n      - {name: a, gpus: 2.5}\n", 4, "racks[r1].hosts[a].gpus")
                .find("whole number"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - name: r1\n    gpus: eight\n    hosts: [a]\n", 3, "racks[r1].gpus").find("expected a number"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - {hosts: [a]}\n", 2, "racks[0].name").find("required field is missing"), std::string::npos);
  // Names stand in fields' paths: a space or ':' in one would break the error line apart.
  EXPECT_NE(error("racks:\n  - name: r1\n    gpus: 8\n    hosts: ['node 1']\n", 4, "racks[r1].hosts[]").find("'node 1' holds a space"),
            std::string::npos);
  EXPECT_NE(error("racks:\n  - {name: 'r:1', hosts: [a]}\n", 2, "racks[0].name").find("'r:1' holds ':'"), std::string::npos);
  EXPECT_NE(error("cluster: c1\nracks: []\n", 2, "racks").find("non-empty list"), std::string::npos);
  EXPECT_NE(error("cluster: c1\n", 1, "racks").find("required field is missing"), std::string::npos);
  EXPECT_NE(error("cluster: c1\nrack: []\n", 2, "rack").find("unknown field"), std::string::npos);
  EXPECT_NE(error("racks:\n  - name: r1\n    hosts: [a\n", 4, "yaml").find("end of sequence"), std::string::npos);
}

TEST_F(InventoryTest, MissingFileIsLineOne) {
  try {
    load_inventory("/nonexistent/inv.yaml");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.line(), 1);
    EXPECT_EQ(e.field(), "file");
  }
}

TEST_F(InventoryTest, PlacesRanksOnTheirHostsRacksAndDomains) {
  const Inventory inv = parse(two_racks);
  const std::vector<HostAndRack> identities = {{"n1", "ignored"}, {"n2.example.com", "x"}, {"n1", "y"},
                                               {"n3", "z"},       {"n2", "x"},             {"n4", "w"}};
  const auto placed = place_by_inventory(inv, identities);
  ASSERT_EQ(placed.size(), 6u);
  EXPECT_EQ(placed[0].host, "n1");
  EXPECT_EQ(placed[0].rack, "r1");
  EXPECT_EQ(placed[0].leaf_switch, "leaf-1");
  EXPECT_EQ(placed[0].nvlink_domain, "");
  EXPECT_EQ(nvlink_domain_of(placed[0]), "n1");
  EXPECT_EQ(placed[0].local_rank, 0);
  EXPECT_EQ(placed[2].local_rank, 1);
  EXPECT_EQ(placed[2].local_size, 2);
  EXPECT_EQ(placed[1].host, "n2");   // the inventory's name
  EXPECT_EQ(placed[1].nvlink_domain, "hgx-n2");
  EXPECT_EQ(placed[4].local_rank, 1);
  EXPECT_EQ(placed[3].rack, "r2");
  EXPECT_EQ(placed[5].host, "n4.example.com");
  EXPECT_EQ(placed[5].nvlink_domain, "nvl-r2");
  EXPECT_EQ(group_members(Scope::nvlink_domain, placed, 3), (std::vector<int>{3, 5}));
  EXPECT_EQ(group_members(Scope::rack, placed, 0), (std::vector<int>{0, 1, 2, 4}));
  EXPECT_EQ(group_name(Scope::rack, placed, 5), "r2");
}

TEST_F(InventoryTest, HostsOutsideTheRunAreLeftAlone) {
  const auto placed = place_by_inventory(parse(two_racks), {{"n3", "n3"}});
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].rack, "r2");
}

TEST_F(InventoryTest, ARankWhoseHostIsNotListedIsNamed) {
  EXPECT_EQ(placing_error(two_racks, {"n1", "n1", "n9", "n9", "n3", "n8"}, 2, "racks"),
            "hosts not in the inventory: n9 (ranks 2, 3); n8 (rank 5)");
  EXPECT_EQ(placing_error(two_racks, {"n7"}, 2, "racks"), "host not in the inventory: n7 (rank 0)");
}

TEST_F(InventoryTest, AHostWithFewerOrMoreRanksThanGpusIsNamed) {
  EXPECT_EQ(placing_error(two_racks, {"n1", "n2", "n2"}, 6, "racks[r1].hosts[n1].gpus"),
            "the inventory lists 2 GPUs on n1 but 1 rank run there (one rank per GPU: a GPU is missing, or too few ranks "
            "were launched)");
  EXPECT_EQ(placing_error(two_racks, {"n3", "n3"}, 10, "racks[r2].gpus"),
            "the inventory lists 1 GPU on n3 but 2 ranks run there (one rank per GPU: more ranks than GPUs)");
}

}  // namespace
}  // namespace rackqual

namespace rackqual {
namespace {

TEST_F(InventoryTest, NvlinksPerGpuComeFromTheHostElseTheRack) {
  const Inventory inv = parse(R"(racks:
  - name: r1
    gpus: 4
    nvlinks: 18
    hosts: [n1, {name: n2, nvlinks: 12}]
  - name: r2
    gpus: 1
    hosts: [n3]
)");
  EXPECT_EQ(inv.racks[0].hosts[0].nvlinks, 18);
  EXPECT_EQ(inv.racks[0].hosts[1].nvlinks, 12);
  EXPECT_EQ(inv.racks[1].hosts[0].nvlinks, 0);   // not said: not counted
  EXPECT_NE(error("racks:\n  - name: r1\n    gpus: 1\n    nvlinks: 0\n    hosts: [n1]\n", 4, "racks[r1].nvlinks")
                .find("whole number of NVLink links"),
            std::string::npos);
}

TEST_F(InventoryTest, QualifyAcceptsFewerRanksThanGpusToJudgeThem) {
  const Inventory inv = parse(two_racks);
  const auto placed = place_by_inventory(inv, {{"n1", "n1"}}, true);
  EXPECT_EQ(placed[0].host, "n1");
  EXPECT_THROW(place_by_inventory(inv, {{"n1", "n1"}}), InputError);
}

}  // namespace
}  // namespace rackqual
