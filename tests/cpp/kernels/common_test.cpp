#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "kernels/common/collective.hpp"
#include "kernels/common/dtype.hpp"
#include "kernels/common/gemm_check.hpp"
#include "kernels/common/random.hpp"
#include "kernels/common/stream.hpp"

namespace rackqual {
namespace {

TEST(Random, UniformInUnitInterval) {
  double sum = 0;
  for (std::uint64_t i = 0; i < 10000; ++i) {
    const double u = random::uniform(42, i);
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(Random, UniformInRange) {
  for (std::uint64_t i = 0; i < 10000; ++i) {
    const double u = random::uniform(7, i, -3.0, 5.0);
    ASSERT_GE(u, -3.0);
    ASSERT_LT(u, 5.0);
  }
}

TEST(Random, Deterministic) {
  for (std::uint64_t i : {0ull, 1ull, 12345ull, ~0ull}) {
    EXPECT_EQ(random::uniform(1, i), random::uniform(1, i));
    EXPECT_EQ(random::uniform(1, i, 2.0, 4.0), 2.0 + 2.0 * random::uniform(1, i));
  }
  EXPECT_EQ(random::mix(0), 0xe220a8397b1dcdafull);
}

TEST(Random, StreamsDiffer) {
  EXPECT_NE(random::uniform(1, 0), random::uniform(2, 0));
  EXPECT_NE(random::uniform(1, 0), random::uniform(1, 1));
}

TEST(Collective, BusFactors) {
  EXPECT_DOUBLE_EQ(collective::allreduce_bus_factor(1), 0.0);
  EXPECT_DOUBLE_EQ(collective::allreduce_bus_factor(2), 1.0);
  EXPECT_DOUBLE_EQ(collective::allreduce_bus_factor(4), 1.5);
  EXPECT_DOUBLE_EQ(collective::allreduce_bus_factor(8), 1.75);
  EXPECT_DOUBLE_EQ(collective::allgather_bus_factor(4), 0.75);
}

TEST(Collective, InputsInOneToTwo) {
  for (int r = 0; r < 8; ++r)
    for (std::uint64_t i = 0; i < 1000; ++i) {
      const double x = collective::input(r, i);
      ASSERT_GE(x, 1.0);
      ASSERT_LT(x, 2.0);
    }
  EXPECT_NE(collective::input(0, 5), collective::input(1, 5));
}

TEST(Collective, ExpectedSumAddsEveryRanksInput) {
  for (std::uint64_t i : {0ull, 3ull, 999ull}) {
    EXPECT_EQ(collective::expected_sum(1, i), collective::input(0, i));
    EXPECT_EQ(collective::expected_sum(3, i), collective::input(0, i) + collective::input(1, i) + collective::input(2, i));
    const double s = collective::expected_sum(8, i);
    EXPECT_GE(s, 8.0);
    EXPECT_LT(s, 16.0);
  }
  EXPECT_EQ(collective::expected_sum(0, 1), 0.0);
}

TEST(Collective, SumTolerance) {
  EXPECT_DOUBLE_EQ(collective::sum_tolerance(4, 0x1.0p-24), 8 * 0x1.0p-24);
}

TEST(GemmCheck, UnitRoundoff) {
  EXPECT_EQ(gemm::unit_roundoff(DType::fp64), 0x1.0p-53);
  EXPECT_EQ(gemm::unit_roundoff(DType::fp32), 0x1.0p-24);
  EXPECT_EQ(gemm::unit_roundoff(DType::tf32), 0x1.0p-11);
  EXPECT_EQ(gemm::unit_roundoff(DType::bf16), 0x1.0p-8);
  EXPECT_EQ(gemm::unit_roundoff(DType::fp16), 0x1.0p-11);
  EXPECT_EQ(gemm::unit_roundoff(DType::fp8), 0x1.0p-4);
}

TEST(GemmCheck, Tolerance) {
  const double u = 0x1.0p-24;
  EXPECT_DOUBLE_EQ(gemm::tolerance(4096, u), (2 * 64 + 4) * u);
  EXPECT_DOUBLE_EQ(gemm::tolerance(1, u), 6 * u);
  EXPECT_LT(gemm::tolerance(100, u), gemm::tolerance(10000, u));
}

TEST(GemmCheck, SamplesCornersThenRandomInRange) {
  const auto s = gemm::samples(300, 70, 50);
  ASSERT_EQ(s.size(), 52u);
  EXPECT_EQ(s[0], (std::pair<std::int64_t, std::int64_t>{0, 0}));
  EXPECT_EQ(s[1], (std::pair<std::int64_t, std::int64_t>{299, 69}));
  for (const auto& [i, j] : s) {
    EXPECT_GE(i, 0);
    EXPECT_LT(i, 300);
    EXPECT_GE(j, 0);
    EXPECT_LT(j, 70);
  }
  EXPECT_EQ(s, gemm::samples(300, 70, 50));
  EXPECT_EQ(gemm::samples(1, 1, 0).size(), 2u);
}

TEST(GemmCheck, ReferenceDotProduct) {
  const double a[] = {1, -2, 3, 4, 5, 6};    // 2x3
  const double b[] = {1, 2, 3, 4, -5, 6};    // 3x2
  const auto [c01, mag01] = gemm::reference(a, b, 2, 3, 0, 1);
  EXPECT_DOUBLE_EQ(c01, 1 * 2 + -2 * 4 + 3 * 6);
  EXPECT_DOUBLE_EQ(mag01, 2 + 8 + 18);
  const auto [c10, mag10] = gemm::reference(a, b, 2, 3, 1, 0);
  EXPECT_DOUBLE_EQ(c10, 4 * 1 + 5 * 3 + 6 * -5);
  EXPECT_DOUBLE_EQ(mag10, 4 + 15 + 30);
}

TEST(Stream, Expected) {
  const double a = 1.5, b = 0.75, c = 1.25;
  EXPECT_DOUBLE_EQ(stream::expected(stream::Op::copy, a, b, c), a);
  EXPECT_DOUBLE_EQ(stream::expected(stream::Op::scale, a, b, c), 0.4 * c);
  EXPECT_DOUBLE_EQ(stream::expected(stream::Op::add, a, b, c), a + b);
  EXPECT_DOUBLE_EQ(stream::expected(stream::Op::triad, a, b, c), b + 0.4 * c);
  EXPECT_DOUBLE_EQ(stream::expected(stream::Op::write, a, b, c), stream::written);
  EXPECT_DOUBLE_EQ(stream::expected(stream::Op::read, a, b, c), a);
}

TEST(Stream, ParseOpAndArraysMoved) {
  EXPECT_EQ(stream::parse_op("read"), stream::Op::read);
  EXPECT_EQ(stream::parse_op("triad"), stream::Op::triad);
  EXPECT_THROW(stream::parse_op("fma"), std::invalid_argument);
  EXPECT_EQ(stream::arrays_moved(stream::parse_op("read")), 1);
  EXPECT_EQ(stream::arrays_moved(stream::parse_op("write")), 1);
  EXPECT_EQ(stream::arrays_moved(stream::parse_op("copy")), 2);
  EXPECT_EQ(stream::arrays_moved(stream::parse_op("scale")), 2);
  EXPECT_EQ(stream::arrays_moved(stream::parse_op("add")), 3);
  EXPECT_EQ(stream::arrays_moved(stream::parse_op("triad")), 3);
}

TEST(Stream, InitialValuesNonZeroAndPerArray) {
  for (int array = 0; array < 3; ++array)
    for (unsigned long long i = 0; i < 1000; ++i) {
      const double x = stream::initial(array, i);
      ASSERT_GE(x, 0.5);
      ASSERT_LT(x, 1.5);
    }
  EXPECT_NE(stream::initial(0, 7), stream::initial(1, 7));
  EXPECT_EQ(stream::initial(2, 7), stream::initial(2, 7));
}


TEST(Collective, RoundToDigitsTiesToEven) {
  using collective::round_to_digits;
  // bf16 (8 bits): spacing 2^-7 in [1, 2); halfway cases go to the even neighbour.
  EXPECT_EQ(round_to_digits(1.0 + 0x1.0p-8, 8), 1.0);
  EXPECT_EQ(round_to_digits(1.0 + 3 * 0x1.0p-8, 8), 1.0 + 0x1.0p-6);
  EXPECT_EQ(round_to_digits(1.0 + 0.6 * 0x1.0p-7, 8), 1.0 + 0x1.0p-7);
  EXPECT_EQ(round_to_digits(1.0 + 0.4 * 0x1.0p-7, 8), 1.0);
  // fp16 (11 bits) and fp32 (24 bits).
  EXPECT_EQ(round_to_digits(1.0 + 0x1.0p-11, 11), 1.0);
  EXPECT_EQ(round_to_digits(1.0 + 3 * 0x1.0p-11, 11), 1.0 + 0x1.0p-9);
  EXPECT_EQ(round_to_digits(1.0 + 3 * 0x1.0p-24, 24), 1.0 + 0x1.0p-22);
  // Other binades, signs and zero.
  EXPECT_EQ(round_to_digits(3.0 + 0.6 * 0x1.0p-6, 8), 3.0 + 0x1.0p-6);
  EXPECT_EQ(round_to_digits(0.75 + 0x1.0p-10, 8), 0.75);
  EXPECT_EQ(round_to_digits(-(1.0 + 3 * 0x1.0p-8), 8), -(1.0 + 0x1.0p-6));
  EXPECT_EQ(round_to_digits(0.0, 8), 0.0);
  EXPECT_EQ(round_to_digits(1.0 + 0x1.0p-52, 53), 1.0 + 0x1.0p-52);
}

TEST(Collective, RoundToDigitsMatchesFloatAndBf16Conversions) {
  for (std::uint64_t i = 0; i < 100000; ++i) {
    const double x = random::uniform(3, i, -100.0, 100.0);
    ASSERT_EQ(collective::round_to_digits(x, 24), static_cast<double>(static_cast<float>(x))) << x;
    const float f = static_cast<float>(x);
    ASSERT_EQ(collective::round_to_digits(f, 8), dtype::bf16_to_float(dtype::float_to_bf16(f))) << f;
  }
}

TEST(Collective, ExpectedSumOfRoundedInputs) {
  for (std::uint64_t i : {0ull, 3ull, 999ull}) {
    EXPECT_EQ(collective::expected_sum(8, i, 53), collective::expected_sum(8, i));
    const double f = static_cast<double>(static_cast<float>(collective::input(0, i))) +
                     static_cast<double>(static_cast<float>(collective::input(1, i))) +
                     static_cast<double>(static_cast<float>(collective::input(2, i)));
    EXPECT_EQ(collective::expected_sum(3, i, 24), f);
    // Each bf16 input in [1, 2) is within half its spacing 2^-7 of the exact one.
    EXPECT_NEAR(collective::expected_sum(8, i, 8), collective::expected_sum(8, i), 8 * 0x1.0p-8);
  }
}

// A sum accumulated in the element type itself, rounding after every addition (as a ring does),
// passes the check; one doubled element does not.
TEST(Collective, SumToleranceCoversAccumulationInTheElementType) {
  for (int digits : {8, 11, 24}) {
    const double u = std::ldexp(1.0, -digits);
    for (int ranks : {2, 3, 8, 64}) {
      const double tolerance = collective::sum_tolerance(ranks, u);
      for (std::uint64_t i = 0; i < 2000; ++i) {
        double sum = collective::round_to_digits(collective::input(ranks - 1, i), digits);
        for (int r = ranks - 2; r >= 0; --r)
          sum = collective::round_to_digits(sum + collective::round_to_digits(collective::input(r, i), digits), digits);
        const double want = collective::expected_sum(ranks, i, digits);
        ASSERT_LE(std::fabs(sum - want), tolerance * want) << digits << " digits, " << ranks << " ranks, element " << i;
        ASSERT_GT(std::fabs(2 * sum - want), tolerance * want);
      }
    }
  }
}

}  // namespace
}  // namespace rackqual
