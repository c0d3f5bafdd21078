#pragma once
// Qualifying a rack as it comes online: the ladder gpu -> node -> rack -> span (the new rack
// together with racks already qualified), a policy for stopping at the first rung that fails,
// and the verdicts a crew signs off on: one per GPU, one per node and one for the rack, each a
// record of its own whose reason names what failed. Expected counts from the inventory (the
// rack's hosts, each host's GPUs) are part of the verdict. Pure: no ranks, no devices.
#include <string>
#include <vector>

#include "rackqual/input/inventory.hpp"
#include "rackqual/plan/plan.hpp"
#include "rackqual/records/record.hpp"

namespace rackqual {

enum class Rung { gpu, node, rack, span };
std::string_view to_string(Rung rung);
// The rung a check stands on, from its scope (nvlink_domain counts as node; cluster as span).
Rung rung_of(Scope scope);

// The checks in ladder order (stable within a rung).
std::vector<CheckPlan> ladder(std::vector<CheckPlan> plans);

struct QualifyTarget {
  std::string rack;                  // the rack under qualification
  std::vector<std::string> with;     // racks already qualified, that the span rung joins
};

// Throws FieldError when a rank runs on a rack other than the target and its --with racks, or
// a rack named is not in the inventory.
void check_target(const QualifyTarget& target, const Inventory& inventory, const std::vector<Placement>& placements);

// The verdict records of the rack's GPUs, nodes and the rack itself, from every record of the
// run (check records, isolation culprits, skips of rungs not run) and the inventory. `base`
// carries the run's context (run_id, suite, backend).
std::vector<Record> qualify_verdicts(const Record& base, const QualifyTarget& target, const Inventory& inventory,
                                     const std::vector<Placement>& placements, const std::vector<Record>& records);

}  // namespace rackqual
