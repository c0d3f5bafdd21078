#include "rackqual/judge/qualify.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

// NVLink links up on a GPU, from the device telemetry its records carry (NVML's link states
// after the measurement, else before); none where no telemetry reads them.
std::optional<int> nvlinks_up(const Record& r) {
  if (!r.telemetry.is_object()) return std::nullopt;
  for (const char* when : {"after", "before"}) {
    const auto at = r.telemetry.find(when);
    if (at == r.telemetry.end() || !at->is_object() || !at->contains("nvlink") || !(*at)["nvlink"].is_array()) continue;
    int up = 0;
    for (const auto& link : (*at)["nvlink"]) up += link.value("active", false) ? 1 : 0;
    return up;
  }
  return std::nullopt;
}

bool on_rack(const QualifyTarget& t, const std::string& rack) {
  return rack == t.rack || std::find(t.with.begin(), t.with.end(), rack) != t.with.end();
}

// What failed among `records`, for a reason: "gemm-bf16 fail (…); hbm-triad error (…)".
struct Findings {
  Verdict verdict = Verdict::pass;
  std::vector<std::string> problems;
  int records = 0;

  void add(const Record& r) {
    ++records;
    verdict = worst(verdict, r.verdict);
    if (r.verdict != Verdict::fail && r.verdict != Verdict::error) return;
    std::string what = r.check;
    if (!r.metric.empty()) what += " " + r.metric;
    what += " " + std::string(to_string(r.verdict)) + " (" + r.reason + ")";
    if (std::find(problems.begin(), problems.end(), what) == problems.end()) problems.push_back(what);
  }
  void fail(const std::string& why) {
    verdict = worst(verdict, Verdict::fail);
    problems.push_back(why);
  }
  std::string reason(const std::string& passed) const {
    if (problems.empty()) return passed;
    std::string out;
    for (const auto& p : problems) out += (out.empty() ? "" : "; ") + p;
    return out;
  }
};

// What every verdict record of one qualification shares: the run's context, the target, and
// every record of the run.
struct Qualification {
  const Record& base;
  const QualifyTarget& target;
  const std::vector<Record>& records;

  // A verdict record at `scope` for `group`, spoken by `rank` on `host`.
  Record verdict_record(Scope scope, const std::string& group, int rank, const std::string& host) const {
    Record r = base;
    r.device.reset();   // base is rank 0's: a GPU's verdict takes its own GPU from its records
    r.check = "qualify";
    r.kind = "qualify";
    r.scope = scope;
    r.group = group;
    r.rank = rank;
    r.host = host;
    r.rack = target.rack;
    r.params = {{"rack", target.rack}, {"with", target.with}};
    return r;
  }
};

// A GPU's verdict: its gpu-rung records and the NVLink links the inventory expects up.
Record gpu_verdict(const Qualification& q, const InventoryHost& host, int rank) {
  Findings gpu;
  Record v = q.verdict_record(Scope::gpu, host.name, rank, host.name);
  std::optional<int> links;
  for (const auto& r : q.records) {
    if (r.scope != Scope::gpu || r.rank != rank) continue;
    gpu.add(r);
    if (r.device && !v.device) v.device = r.device;
    if (const auto up = nvlinks_up(r); up && (!links || *up < *links)) links = up;
  }
  if (gpu.records == 0) gpu.verdict = Verdict::error, gpu.problems.push_back("no gpu-rung record for this GPU");
  // Expected NVLink links: fewer up fails the GPU; none read where the inventory expects them is an error.
  if (host.nvlinks > 0 && !links) {
    gpu.verdict = worst(gpu.verdict, Verdict::error);
    gpu.problems.push_back("NVLink links not read (the inventory expects " + std::to_string(host.nvlinks) + " up)");
  } else if (host.nvlinks > 0 && *links < host.nvlinks) {
    gpu.fail(std::to_string(*links) + " of " + std::to_string(host.nvlinks) + " NVLink links up");
  }
  v.verdict = gpu.verdict == Verdict::skip ? Verdict::error : gpu.verdict;
  v.reason = gpu.reason("every gpu-rung check passed (" + std::to_string(gpu.records) + " records)");
  if (gpu.verdict == Verdict::skip) v.reason = "the gpu rung did not run";
  return v;
}

// A node's verdict, after those of its GPUs (appended to `out` first): its GPU count, its GPUs'
// verdicts, its own group figures and culprits.
Record node_verdict(const Qualification& q, const InventoryHost& host, const std::vector<int>& ranks,
                    std::vector<Record>& out) {
  Findings node;
  if (ranks.empty()) node.fail(host.name + ": listed with " + std::to_string(host.gpus) + " GPUs, no rank ran there");
  else if (static_cast<int>(ranks.size()) < host.gpus)
    node.fail(host.name + ": " + std::to_string(ranks.size()) + " of " + std::to_string(host.gpus) + " GPUs present");
  for (int rank : ranks) {
    Record v = gpu_verdict(q, host, rank);
    if (v.verdict != Verdict::pass && v.verdict != Verdict::warn)
      node.fail("GPU rank " + std::to_string(rank) + " " + std::string(to_string(v.verdict)));
    out.push_back(std::move(v));
  }
  for (const auto& r : q.records) {
    const bool own_group = (r.scope == Scope::node || r.scope == Scope::nvlink_domain) && r.group == host.name;
    const bool culprit = r.isolation.is_object() && r.isolation.contains("culprit") && r.host == host.name;
    if (own_group || culprit) node.add(r);
  }
  Record v = q.verdict_record(Scope::node, host.name, ranks.empty() ? -1 : ranks.front(), host.name);
  v.verdict = node.verdict == Verdict::skip ? Verdict::fail : node.verdict;
  v.reason = node.reason(host.name + ": " + std::to_string(ranks.size()) + " of " + std::to_string(host.gpus) +
                         " GPUs present, every gpu- and node-rung check passed");
  return v;
}

// The rack's verdict: its nodes' (in `whole` already), the rack and span rungs, any check that
// could not run, and every culprit named anywhere. Ranks on hosts the rack does not list cannot
// happen (placement refuses them).
Record rack_verdict(const Qualification& q, const InventoryRack& rack, const std::vector<Placement>& placements,
                    Findings& whole) {
  std::set<std::string> rungs_not_run;
  for (const auto& r : q.records) {
    if (r.verdict == Verdict::skip && r.reason.rfind("not run: ", 0) == 0) rungs_not_run.insert(r.check);
    const bool rack_group = r.scope == Scope::rack && r.group == q.target.rack;
    const bool span = r.scope == Scope::cluster;
    const bool culprit = r.isolation.is_object() && r.isolation.contains("culprit");
    if (rack_group || span || culprit || r.verdict == Verdict::error) whole.add(r);
  }
  Record v = q.verdict_record(Scope::rack, q.target.rack, 0, placements.empty() ? "" : placements.front().host);
  v.verdict = whole.verdict == Verdict::skip ? Verdict::fail : whole.verdict;
  if (!rungs_not_run.empty()) {
    v.verdict = worst(v.verdict, Verdict::fail);
    std::string names;
    for (const auto& c : rungs_not_run) names += (names.empty() ? "" : ", ") + c;
    whole.problems.push_back("not run after a rung failed: " + names);
  }
  int gpus = 0;
  for (const auto& h : rack.hosts) gpus += h.gpus;
  v.reason = whole.reason("rack " + q.target.rack + " qualified: " + std::to_string(rack.hosts.size()) + " hosts, " +
                          std::to_string(gpus) + " GPUs, every rung passed");
  return v;
}

}  // namespace

std::string_view to_string(Rung rung) {
  switch (rung) {
    case Rung::gpu: return "gpu";
    case Rung::node: return "node";
    case Rung::rack: return "rack";
    case Rung::span: return "span";
  }
  return "";
}

Rung rung_of(Scope scope) {
  switch (scope) {
    case Scope::gpu: return Rung::gpu;
    case Scope::node:
    case Scope::nvlink_domain: return Rung::node;
    case Scope::rack: return Rung::rack;
    case Scope::cluster: return Rung::span;
  }
  return Rung::span;
}

std::vector<CheckPlan> ladder(std::vector<CheckPlan> plans) {
  std::stable_sort(plans.begin(), plans.end(),
                   [](const CheckPlan& a, const CheckPlan& b) { return rung_of(a.check->scope) < rung_of(b.check->scope); });
  return plans;
}

void check_target(const QualifyTarget& target, const Inventory& inventory, const std::vector<Placement>& placements) {
  auto listed = [&](const std::string& rack) {
    return std::any_of(inventory.racks.begin(), inventory.racks.end(), [&](const InventoryRack& r) { return r.name == rack; });
  };
  if (!listed(target.rack)) throw FieldError("--rack", "rack " + target.rack + " is not in " + inventory.path);
  for (const auto& w : target.with) {
    if (!listed(w)) throw FieldError("--with", "rack " + w + " is not in " + inventory.path);
    if (w == target.rack) throw FieldError("--with", "rack " + w + " is the rack under qualification");
  }
  for (std::size_t r = 0; r < placements.size(); ++r)
    if (!on_rack(target, placements[r].rack))
      throw FieldError("--rack", "rank " + std::to_string(r) + " (" + placements[r].host + ") runs on rack " + placements[r].rack +
                                     ", neither " + target.rack + " nor a --with rack");
}

std::vector<Record> qualify_verdicts(const Record& base, const QualifyTarget& target, const Inventory& inventory,
                                     const std::vector<Placement>& placements, const std::vector<Record>& records) {
  const auto rack = std::find_if(inventory.racks.begin(), inventory.racks.end(), [&](const InventoryRack& r) { return r.name == target.rack; });
  if (rack == inventory.racks.end()) throw FieldError("--rack", "rack " + target.rack + " is not in " + inventory.path);
  const Qualification q{base, target, records};

  std::vector<Record> out;
  Findings whole;
  std::map<std::string, std::vector<int>> ranks_on;
  for (std::size_t r = 0; r < placements.size(); ++r)
    if (placements[r].rack == target.rack) ranks_on[placements[r].host].push_back(static_cast<int>(r));

  for (const InventoryHost& host : rack->hosts) {
    Record v = node_verdict(q, host, ranks_on[host.name], out);
    if (v.verdict != Verdict::pass && v.verdict != Verdict::warn) whole.fail("node " + host.name + " " + std::string(to_string(v.verdict)) + ": " + v.reason);
    else whole.add(v);
    out.push_back(std::move(v));
  }
  out.push_back(rack_verdict(q, *rack, placements, whole));
  return out;
}

}  // namespace rackqual
