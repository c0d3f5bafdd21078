#pragma once
// Every rank's 64-bit weight hash over a Group, for the collectives the backends supply:
// Group offers element-wise maxima of doubles, so each rank fills its own slots with the hash's
// four 16-bit parts (exact in a double) and leaves the others 0.
#include <cstdint>
#include <vector>

#include "rackqual/api/group.hpp"

namespace rackqual::model {

// Every rank's value, by rank in the group, on every rank.
inline std::vector<std::uint64_t> gather_hashes(const Group& group, std::uint64_t value) {
  constexpr int parts = 4;
  const auto ranks = static_cast<std::size_t>(group.size());
  std::vector<double> slots(ranks * parts, 0.0);
  const auto mine = static_cast<std::size_t>(group.rank()) * parts;
  for (int k = 0; k < parts; ++k) slots[mine + k] = static_cast<double>((value >> (16 * k)) & 0xffffu);
  const std::vector<double> all = group.max_each(slots);
  std::vector<std::uint64_t> hashes(ranks, 0);
  for (std::size_t r = 0; r < ranks; ++r)
    for (int k = 0; k < parts; ++k) hashes[r] |= static_cast<std::uint64_t>(all[r * parts + k]) << (16 * k);
  return hashes;
}

}  // namespace rackqual::model
