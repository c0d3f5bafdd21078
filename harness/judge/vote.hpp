#pragma once
// The consensus vote: where every rank computed the same problem from the same seed (a kind's
// `consensus` parameter), each rank's output digest is compared with those of the other devices
// of its model, and what more than half of them computed is taken as right. No golden files:
// silent data corruption on one device shows as a digest its peers do not share.
#include <optional>
#include <vector>

#include "rackqual/api/group.hpp"
#include "rackqual/records/record.hpp"

namespace rackqual {

// Every group rank's digest, on the group's leader (the others get none). A collective: every
// rank of the group calls it, with null where it has no digest.
std::vector<RankDigest> gather_digests(const Group& group, const std::optional<RankDigest>& mine);

// Votes on a check's gathered records, point by point, among the ranks whose digests the records
// carry, grouped by device model (the device's name) and the digest's setting. Within a model, a rank agrees when its hash
// is the one more than half of them share and, where part of the output is not reproducible bit
// for bit, its sample lies within the tolerance of the element-wise median of everyone's. A record
// with a rank that does not agree fails, naming the rank, its host and device, and how many agree
// on what; where no more than half agree, every record of that model's vote is an error. A rank
// alone with its model has no one to compare with and keeps its verdict. Each record's correctness
// detail says how its ranks voted. Verdicts only get worse.
void vote_outputs(std::vector<Record>& records);

}  // namespace rackqual
