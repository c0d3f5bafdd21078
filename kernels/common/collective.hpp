#pragma once
// Collective arithmetic shared by the backends: bus-bandwidth factors and the values an
// all-reduce must produce.
#include <cmath>
#include <cstdint>

#include "kernels/common/hd.hpp"
#include "kernels/common/random.hpp"

namespace rackqual::collective {

// busbw = algbw * 2(n-1)/n for all-reduce (nccl-tests doc/PERFORMANCE.md): each rank sends
// and receives 2(n-1)/n of the buffer in a ring, whatever the algorithm used.
inline double allreduce_bus_factor(int ranks) { return 2.0 * (ranks - 1) / ranks; }
// (n-1)/n for all-gather, reduce-scatter and all-to-all; 1 for broadcast and reduce.
inline double allgather_bus_factor(int ranks) { return static_cast<double>(ranks - 1) / ranks; }

// Input element i of rank r: random in [1, 2), never zero.
RACKQUAL_HD inline double input(int rank, std::uint64_t i) { return random::uniform(0xa11ced + rank, i, 1.0, 2.0); }

// The exact sum of element i over `ranks` ranks, in double.
RACKQUAL_HD inline double expected_sum(int ranks, std::uint64_t i) {
  double sum = 0;
  for (int r = 0; r < ranks; ++r) sum += input(r, i);
  return sum;
}

// x rounded to the nearest value with `digits` significant bits, ties to even: what converting
// it to fp64 (53), fp32 (24), fp16 (11) or bf16 (8) stores, within that type's normal range.
RACKQUAL_HD inline double round_to_digits(double x, int digits) {
  int exponent = 0;
  frexp(x, &exponent);                                // |x| in [2^(exponent-1), 2^exponent)
  const double ulp = ldexp(1.0, exponent - digits);   // spacing of `digits`-bit values there
  return rint(x / ulp) * ulp;                         // / and * are exact: ulp is a power of two
}

// The sum of element i over `ranks` ranks of inputs stored in a type of `digits` significant
// bits (each input rounded first, as the ranks hold them), in double: exact below fp64.
RACKQUAL_HD inline double expected_sum(int ranks, std::uint64_t i, int digits) {
  double sum = 0;
  for (int r = 0; r < ranks; ++r) sum += round_to_digits(input(r, i), digits);
  return sum;
}

// Relative tolerance of a sum of `ranks` terms accumulated in a type with unit roundoff `u`
// (inputs rounded once, then up to ranks-1 roundings, in any order).
inline double sum_tolerance(int ranks, double unit_roundoff) { return 2.0 * ranks * unit_roundoff; }

}  // namespace rackqual::collective
