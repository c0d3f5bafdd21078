#pragma once
// What the operations' output digests (Op::digest) share: the hash as text, the least significant
// bit a corrupt fault flips, and the GEMM output element it flips.
#include <cstdint>
#include <cstdio>
#include <set>
#include <string>
#include <utility>

#include "kernels/common/gemm_check.hpp"

namespace rackqual::consensus {

// 16 lower-case hex digits.
inline std::string hex(std::uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

// Flips the lowest bit of a little-endian element in place: one unit in the last place of a
// floating-point value's significand, whatever its width.
inline void flip_lowest_bit(void* element) { *static_cast<unsigned char*>(element) ^= 1u; }

// The first element of C, row by row, that the GEMM check's `count` random samples
// (gemm::samples) leave out: silent corruption where the check does not look (C(0,0) when every
// element is sampled).
inline std::pair<std::int64_t, std::int64_t> unsampled_element(std::int64_t m, std::int64_t n, int count) {
  const auto sampled = gemm::samples(m, n, count);
  const std::set<std::pair<std::int64_t, std::int64_t>> checked(sampled.begin(), sampled.end());
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < n; ++j)
      if (!checked.count({i, j})) return {i, j};
  return {0, 0};
}

}  // namespace rackqual::consensus
