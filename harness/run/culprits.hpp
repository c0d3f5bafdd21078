#pragma once
// Culprit isolation inside a run: when a collective group misses its criterion, the isolation
// planner (judge/isolation.hpp) chooses disjoint subsets of its members to probe; every rank
// takes part in each round (subsets as communicators of their own, the failed point measured
// and judged on each), and rank 0 writes every probe as a record, then the culprits it confirmed.
#include <vector>

#include "rackqual/plan/plan.hpp"
#include "rackqual/records/record.hpp"
#include "rackqual/run/point.hpp"

namespace rackqual {

// On every rank: isolates the culprit of each point and group of `plan` whose figure missed its
// criterion in `records` (rank 0's, once every rank's are in). Returns, on rank 0, the records
// of every probe and culprit.
std::vector<Record> isolate_failures(const CheckContext& context, const CheckPlan& plan, const std::vector<Record>& records);

}  // namespace rackqual
