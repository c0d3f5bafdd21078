// The qualify ladder and the verdicts a crew signs off on, from records alone.
#include "rackqual/judge/qualify.hpp"

#include <gtest/gtest.h>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

InventoryHost host(const std::string& name) {
  InventoryHost h;
  h.name = name;
  h.gpus = 2;
  return h;
}

Inventory rack_of_two() {
  Inventory inv;
  inv.path = "inv.yaml";
  inv.racks.push_back({"r17", "", {host("n1"), host("n2")}});
  inv.racks.push_back({"r18", "", {host("n3")}});
  return inv;
}

std::vector<Placement> on(const std::vector<std::pair<std::string, std::string>>& hosts) {
  std::vector<Placement> out;
  for (const auto& [host, rack] : hosts) out.push_back({host, rack, "", "", 0, 1});
  return out;
}

Record gpu_record(int rank, const std::string& host, Verdict v) {
  Record r;
  r.check = "gemm";
  r.scope = Scope::gpu;
  r.rank = rank;
  r.host = host;
  r.group = host;
  r.metric = "tflops";
  r.verdict = v;
  r.reason = v == Verdict::pass ? "ok" : "0.1 < min 1";
  return r;
}

TEST(Qualify, RungsFollowScopesAndTheLadderKeepsSuiteOrderWithinARung) {
  EXPECT_EQ(rung_of(Scope::gpu), Rung::gpu);
  EXPECT_EQ(rung_of(Scope::nvlink_domain), Rung::node);
  EXPECT_EQ(rung_of(Scope::cluster), Rung::span);
  Check a, b, c;
  a.id = "rack", a.scope = Scope::rack;
  b.id = "gpu1", b.scope = Scope::gpu;
  c.id = "gpu2", c.scope = Scope::gpu;
  const auto plans = ladder({{&a, {}}, {&b, {}}, {&c, {}}});
  EXPECT_EQ(plans[0].check->id, "gpu1");
  EXPECT_EQ(plans[1].check->id, "gpu2");
  EXPECT_EQ(plans[2].check->id, "rack");
}

TEST(Qualify, AHealthyRackPassesAndAFailedGpuFailsItsNodeAndTheRack) {
  const auto placements = on({{"n1", "r17"}, {"n1", "r17"}, {"n2", "r17"}, {"n2", "r17"}});
  std::vector<Record> records;
  for (int r = 0; r < 4; ++r) records.push_back(gpu_record(r, placements[static_cast<std::size_t>(r)].host, Verdict::pass));
  auto verdicts = qualify_verdicts(Record{}, {"r17", {}}, rack_of_two(), placements, records);
  ASSERT_EQ(verdicts.size(), 4u + 2u + 1u);
  for (const auto& v : verdicts) EXPECT_EQ(v.verdict, Verdict::pass) << v.reason;
  EXPECT_EQ(verdicts.back().scope, Scope::rack);
  EXPECT_EQ(verdicts.back().reason, "rack r17 qualified: 2 hosts, 4 GPUs, every rung passed");

  records[3] = gpu_record(3, "n2", Verdict::fail);
  verdicts = qualify_verdicts(Record{}, {"r17", {}}, rack_of_two(), placements, records);
  for (const auto& v : verdicts) {
    const bool failing = (v.scope == Scope::gpu && v.rank == 3) || (v.scope == Scope::node && v.group == "n2") || v.scope == Scope::rack;
    EXPECT_EQ(v.verdict, failing ? Verdict::fail : Verdict::pass) << scope_text(v) << " " << v.group << ": " << v.reason;
  }
  EXPECT_NE(verdicts.back().reason.find("node n2 fail"), std::string::npos) << verdicts.back().reason;
}

TEST(Qualify, EachGpuVerdictNamesItsOwnGpuAndNodeAndRackVerdictsNone) {
  const auto placements = on({{"n1", "r17"}, {"n1", "r17"}, {"n2", "r17"}, {"n2", "r17"}});
  std::vector<Record> records;
  for (int r = 0; r < 4; ++r) {
    records.push_back(gpu_record(r, placements[static_cast<std::size_t>(r)].host, Verdict::pass));
    records.back().device = DeviceInfo{r % 2, "H100", "GPU-" + std::to_string(r), "SN" + std::to_string(r)};
  }
  Record base;   // the run's context, spoken by rank 0 with its GPU
  base.device = records[0].device;
  for (const auto& v : qualify_verdicts(base, {"r17", {}}, rack_of_two(), placements, records)) {
    if (v.scope != Scope::gpu) {
      EXPECT_FALSE(v.device) << scope_text(v) << " " << v.group;
      continue;
    }
    ASSERT_TRUE(v.device);
    EXPECT_EQ(v.device->serial, "SN" + std::to_string(v.rank));
  }
}

TEST(Qualify, MissingGpusAndHostsFailTheirNodeByName) {
  const auto placements = on({{"n1", "r17"}});
  const auto verdicts = qualify_verdicts(Record{}, {"r17", {}}, rack_of_two(), placements, {gpu_record(0, "n1", Verdict::pass)});
  std::map<std::string, Record> nodes;
  for (const auto& v : verdicts)
    if (v.scope == Scope::node) nodes[v.group] = v;
  EXPECT_EQ(nodes["n1"].verdict, Verdict::fail);
  EXPECT_NE(nodes["n1"].reason.find("n1: 1 of 2 GPUs present"), std::string::npos) << nodes["n1"].reason;
  EXPECT_NE(nodes["n2"].reason.find("n2: listed with 2 GPUs, no rank ran there"), std::string::npos) << nodes["n2"].reason;
  EXPECT_EQ(verdicts.back().verdict, Verdict::fail);
}

TEST(Qualify, AGpuWithFewerNvlinksUpThanTheInventorySaysFails) {
  Inventory inv = rack_of_two();
  for (auto& h : inv.racks[0].hosts) h.nvlinks = 2;
  const auto placements = on({{"n1", "r17"}, {"n1", "r17"}, {"n2", "r17"}, {"n2", "r17"}});
  std::vector<Record> records;
  for (int r = 0; r < 4; ++r) {
    records.push_back(gpu_record(r, placements[static_cast<std::size_t>(r)].host, Verdict::pass));
    records.back().telemetry = {{"after", {{"nvlink", {{{"link", 0}, {"active", true}}, {{"link", 1}, {"active", r != 1}}}}}}};
  }
  auto verdicts = qualify_verdicts(Record{}, {"r17", {}}, inv, placements, records);
  for (const auto& v : verdicts)
    if (v.scope == Scope::gpu) {
      EXPECT_EQ(v.verdict, v.rank == 1 ? Verdict::fail : Verdict::pass) << v.reason;
      if (v.rank == 1) {
        EXPECT_NE(v.reason.find("1 of 2 NVLink links up"), std::string::npos) << v.reason;
      }
    }
  EXPECT_EQ(verdicts.back().verdict, Verdict::fail);

  records[2].telemetry = nullptr;   // expected, yet not read: never a pass
  verdicts = qualify_verdicts(Record{}, {"r17", {}}, inv, placements, records);
  for (const auto& v : verdicts) {
    if (v.scope == Scope::gpu && v.rank == 2) {
      EXPECT_EQ(v.verdict, Verdict::error) << v.reason;
    }
  }
}

TEST(Qualify, RanksOutsideTheTargetRacksAreRefused) {
  EXPECT_NO_THROW(check_target({"r17", {"r18"}}, rack_of_two(), on({{"n1", "r17"}, {"n3", "r18"}})));
  EXPECT_THROW(check_target({"r17", {}}, rack_of_two(), on({{"n1", "r17"}, {"n3", "r18"}})), FieldError);
  EXPECT_THROW(check_target({"r99", {}}, rack_of_two(), on({})), FieldError);
}

}  // namespace
}  // namespace rackqual
