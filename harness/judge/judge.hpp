#pragma once
// Judging one measurement point: from what the group measured to its records, each metric
// compared with the bounds resolved when the suite loaded. Pure: no ranks, no devices.
#include <string>
#include <vector>

#include "rackqual/api/kind.hpp"
#include "rackqual/plan/plan.hpp"
#include "rackqual/records/record.hpp"

namespace rackqual {

// What a group measured at one point, as its leader knows it.
struct Measurement {
  bool measured = false;         // every rank prepared, ran and timed the operation
  std::vector<Sample> samples;   // per repetition, the slowest rank's
  nlohmann::json telemetry;      // the leader's device over the measurement (null where none)
  nlohmann::json timing;         // how it was timed
  nlohmann::json arrival;        // collectives: each rank's lateness at the common start
  std::string correct_detail;    // the leader's check, when every rank was right
  std::string complaints;        // every rank's problem or wrong result, joined
  std::vector<RankDigest> digests;   // consensus: every rank's output digest, for the vote
};

// Judges one record's figure by the bounds of its point and metric (none: "measured; no
// criterion"): its criterion, verdict and reason; failed when its result was wrong; throttling
// and stragglers named from its telemetry and arrival. Rejudging records read back shares it.
void judge_figure(Record& r, const Bounds* bounds);

// The records of one point: an error record when it could not be measured, else one record
// per metric, judged by its bounds, failed when any rank computed a wrong result. `base`
// carries the context (run, check, group, rank, device, params).
std::vector<Record> judge_point(const Record& base, const Kind& kind, const PointPlan& point, const Measurement& m,
                                int ranks);

// Judges a check's gathered records against their peers (every record of the same point and
// metric): a figure under min_fraction_of_group_median of their median (over it, for a metric
// where lower is better), or whose robust z-score in its worse direction exceeds max_robust_z,
// fails even within its absolute bounds. Verdicts only get worse; error and skip records, and
// figures without a value, are no one's peers. Then the ranks' output digests, where the records
// carry them, are voted on (vote_outputs, vote.hpp).
void judge_peers(std::vector<Record>& records, const CheckPlan& plan);

}  // namespace rackqual
