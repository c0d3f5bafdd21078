#pragma once
// Every rank's 64-bit weight hash over a Group, for the collectives the backends supply.
#include <cstdint>
#include <vector>

#include "rackqual/api/exchange.hpp"
#include "rackqual/api/group.hpp"

namespace rackqual::model {

// Every rank's value, by rank in the group, on every rank.
inline std::vector<std::uint64_t> gather_hashes(const Group& group, std::uint64_t value) {
  return all_gather_values(group, value);
}

}  // namespace rackqual::model
