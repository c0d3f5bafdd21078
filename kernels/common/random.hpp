#pragma once
// Counter-based random numbers: value i of stream `seed` is the same on every rank, thread
// and device, so any rank can recompute another's inputs to check a result.
#include <cstdint>

#include "kernels/common/hd.hpp"

namespace rackqual::random {

// SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijective mix of a 64-bit counter.
RACKQUAL_HD inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [0, 1) with 53 random bits.
RACKQUAL_HD inline double uniform(std::uint64_t seed, std::uint64_t i) {
  return static_cast<double>(mix(mix(seed) ^ i) >> 11) * 0x1.0p-53;
}

// Uniform in [lo, hi).
RACKQUAL_HD inline double uniform(std::uint64_t seed, std::uint64_t i, double lo, double hi) {
  return lo + (hi - lo) * uniform(seed, i);
}

}  // namespace rackqual::random
