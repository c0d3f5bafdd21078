// The GPU side of the gemm check: accumulation and output roundoffs, the bound they make, and
// that the bound admits what plausible GPU arithmetic produces while catching real errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/common/dtype.hpp"
#include "kernels/common/gemm_check.hpp"
#include "kernels/common/random.hpp"

namespace rackqual {
namespace {

TEST(GemmGpuCheck, AccumulationRoundoff) {
  EXPECT_EQ(gemm::accumulation_roundoff(DType::fp64), 0x1.0p-53);
  EXPECT_EQ(gemm::accumulation_roundoff(DType::fp32), 0x1.0p-24);
  EXPECT_EQ(gemm::accumulation_roundoff(DType::tf32), 0x1.0p-11);
  EXPECT_EQ(gemm::accumulation_roundoff(DType::bf16), 0x1.0p-24);
  EXPECT_EQ(gemm::accumulation_roundoff(DType::fp16), 0x1.0p-24);
  EXPECT_EQ(gemm::accumulation_roundoff(DType::fp8), 0x1.0p-12);
}

TEST(GemmGpuCheck, OutputRoundoff) {
  EXPECT_EQ(gemm::output_roundoff(DType::fp64), 0.0);
  EXPECT_EQ(gemm::output_roundoff(DType::fp32), 0.0);
  EXPECT_EQ(gemm::output_roundoff(DType::tf32), 0.0);
  EXPECT_EQ(gemm::output_roundoff(DType::bf16), 0x1.0p-8);
  EXPECT_EQ(gemm::output_roundoff(DType::fp16), 0x1.0p-11);
  EXPECT_EQ(gemm::output_roundoff(DType::fp8), 0x1.0p-8);   // fp8 inputs write bf16
}

TEST(GemmGpuCheck, HostRoundoffUnchanged) {
  EXPECT_EQ(gemm::unit_roundoff(DType::bf16), 0x1.0p-8);
  EXPECT_EQ(gemm::unit_roundoff(DType::fp8), 0x1.0p-4);
}

TEST(GemmGpuCheck, BoundAddsAccumulationAndOutputRounding) {
  const double ref = -3, magnitude = 100;
  // Output in the accumulation type: the accumulation term alone.
  EXPECT_DOUBLE_EQ(gemm::gpu_bound(DType::fp32, 4096, ref, magnitude), gemm::tolerance(4096, 0x1.0p-24) * magnitude);
  EXPECT_DOUBLE_EQ(gemm::gpu_bound(DType::fp64, 16, ref, magnitude), gemm::tolerance(16, 0x1.0p-53) * magnitude);
  // bf16 output: e + 2^-8 (|ref| + e).
  const double e = gemm::tolerance(1024, 0x1.0p-24) * magnitude;
  EXPECT_DOUBLE_EQ(gemm::gpu_bound(DType::bf16, 1024, ref, magnitude), e + 0x1.0p-8 * (3 + e));
  const double e8 = gemm::tolerance(1024, 0x1.0p-12) * magnitude;
  EXPECT_DOUBLE_EQ(gemm::gpu_bound(DType::fp8, 1024, ref, magnitude), e8 + 0x1.0p-8 * (3 + e8));
  // Grows with k and with the size of the result.
  EXPECT_LT(gemm::gpu_bound(DType::fp16, 100, ref, magnitude), gemm::gpu_bound(DType::fp16, 10000, ref, magnitude));
  EXPECT_LT(gemm::gpu_bound(DType::fp16, 100, 1, magnitude), gemm::gpu_bound(DType::fp16, 100, 50, magnitude));
}

TEST(GemmGpuCheck, DotReferenceOfRowAndColumn) {
  const double row[] = {1, -2, 3};
  const double column[] = {2, 4, -6};
  const auto [c, magnitude] = gemm::dot_reference(row, column, 3);
  EXPECT_DOUBLE_EQ(c, 2 - 8 - 18);
  EXPECT_DOUBLE_EQ(magnitude, 2 + 8 + 18);
  // The same as the row-major reference of the host.
  const double a[] = {1, -2, 3};            // 1×3
  const double b[] = {2, 4, -6};            // 3×1
  EXPECT_EQ(gemm::reference(a, b, 1, 3, 0, 0), (std::pair<double, double>{c, magnitude}));
}

// One output in the worst place for the narrow output types: 1·1, whose bf16/fp16 neighbours
// are one ulp away. The exact result passes; one ulp off does not.
TEST(GemmGpuCheck, OneUlpAtUnitScaleFails) {
  const double one = 1;
  const auto [ref, magnitude] = gemm::dot_reference(&one, &one, 1);
  for (const auto& [dtype, ulp] : {std::pair<DType, double>{DType::bf16, 0x1.0p-7}, {DType::fp16, 0x1.0p-10}, {DType::fp8, 0x1.0p-7}}) {
    const double bound = gemm::gpu_bound(dtype, 1, ref, magnitude);
    EXPECT_LE(std::fabs(1.0 - ref), bound) << to_string(dtype);
    EXPECT_GT(std::fabs(1.0 + ulp - ref), bound) << to_string(dtype);
  }
}

// A mantissa of `bits` bits: truncated (the worst case of a tensor core's input or accumulator),
// or rounded to nearest even (a conversion of the result).
float truncate_mantissa(float x, int bits) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  u &= ~((1u << (23 - bits)) - 1);
  std::memcpy(&x, &u, sizeof x);
  return x;
}
float round_nearest_even(float x, int bits) {
  if (bits >= 23) return x;
  const int drop = 23 - bits;
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  u = (u + ((1u << (drop - 1)) - 1) + ((u >> drop) & 1u)) & ~((1u << drop) - 1);
  std::memcpy(&x, &u, sizeof x);
  return x;
}

// How a GPU might compute one output of each dtype, pessimistically: inputs with the input
// type's mantissa, products accumulated one by one in fp32 with `accumulator_bits` kept by
// truncation, and the result rounded to the output type.
struct Simulation {
  DType dtype;
  int input_bits;        // mantissa bits of the stored inputs
  int multiply_bits;     // mantissa bits the multiplier sees (tf32: 10 of fp32's 23)
  int accumulator_bits;
  int output_bits;
};

double simulate(const Simulation& s, const std::vector<double>& row, const std::vector<double>& column) {
  if (s.dtype == DType::fp64) {
    double sum = 0;   // the reverse of the reference's order
    for (std::size_t l = row.size(); l-- > 0;) sum += row[l] * column[l];
    return sum;
  }
  float sum = 0;
  for (std::size_t l = 0; l < row.size(); ++l) {
    const float a = truncate_mantissa(static_cast<float>(row[l]), s.multiply_bits);
    const float b = truncate_mantissa(static_cast<float>(column[l]), s.multiply_bits);
    const float p = a * b;
    sum = truncate_mantissa(sum + p, s.accumulator_bits);
  }
  return round_nearest_even(sum, s.output_bits);
}

TEST(GemmGpuCheck, BoundAdmitsSimulatedGpuArithmetic) {
  const Simulation simulations[] = {
      {DType::fp64, 52, 52, 52, 52}, {DType::fp32, 23, 23, 23, 23}, {DType::tf32, 23, 10, 23, 23},
      {DType::bf16, 7, 7, 23, 7},    {DType::fp16, 10, 10, 23, 10}, {DType::fp8, 3, 3, 13, 7},
  };
  for (const auto& s : simulations)
    for (const std::int64_t k : {1, 7, 64, 4096}) {
      for (std::uint64_t trial = 0; trial < 20; ++trial) {
        std::vector<double> row(static_cast<std::size_t>(k)), column(static_cast<std::size_t>(k));
        for (std::int64_t l = 0; l < k; ++l) {
          const auto i = static_cast<std::uint64_t>(l);
          const double a = random::uniform(2 * trial + 1, i, -1, 1), b = random::uniform(2 * trial + 2, i, -1, 1);
          const bool wide = s.input_bits == 52;   // fp64 inputs are doubles as they are
          row[i] = wide ? a : truncate_mantissa(static_cast<float>(a), s.input_bits);
          column[i] = wide ? b : truncate_mantissa(static_cast<float>(b), s.input_bits);
        }
        const auto [ref, magnitude] = gemm::dot_reference(row.data(), column.data(), k);
        const double got = simulate(s, row, column);
        ASSERT_LE(std::fabs(got - ref), gemm::gpu_bound(s.dtype, k, ref, magnitude))
            << to_string(s.dtype) << " k=" << k << " trial " << trial;
      }
    }
}

TEST(GemmGpuCheck, RoundNearestEvenMatchesBf16) {
  for (const float x : {1.0f + 0x1.0p-8f, 1.0f + 0x3.0p-8f, -0.3f, 1234.5678f})
    EXPECT_EQ(round_nearest_even(x, 7), dtype::bf16_to_float(dtype::float_to_bf16(x)));
}

// The chaos drill's corruption (the largest finite value of the output type) fails at any k.
TEST(GemmGpuCheck, LargestFiniteOutputFails) {
  for (const std::int64_t k : {1, 4096, 65536}) {
    const double ref = std::sqrt(static_cast<double>(k)) / 3, magnitude = static_cast<double>(k) / 4;
    EXPECT_GT(std::fabs(65504 - ref), gemm::gpu_bound(DType::fp16, k, ref, magnitude));
    EXPECT_GT(std::fabs(0x1.fep127 - ref), gemm::gpu_bound(DType::bf16, k, ref, magnitude));
    EXPECT_GT(std::fabs(0x1.fep127 - ref), gemm::gpu_bound(DType::fp8, k, ref, magnitude));
  }
}

}  // namespace
}  // namespace rackqual
