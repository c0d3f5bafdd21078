#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/common/dtype.hpp"
#include "rackqual/base/dtype.hpp"

namespace rackqual {
namespace {

TEST(Bf16, DecodesKnownValues) {
  EXPECT_EQ(dtype::bf16_to_float(0x3f80), 1.0f);
  EXPECT_EQ(dtype::bf16_to_float(0xbf80), -1.0f);
  EXPECT_EQ(dtype::bf16_to_float(0x0000), 0.0f);
  EXPECT_EQ(dtype::bf16_to_float(0x7f7f), 0x1.fep127f);   // largest finite
  EXPECT_EQ(dtype::bf16_to_float(0x0080), 0x1.0p-126f);   // smallest normal
  EXPECT_EQ(dtype::bf16_to_float(0x0001), 0x1.0p-133f);   // smallest subnormal
  EXPECT_EQ(dtype::bf16_to_float(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(dtype::bf16_to_float(0x7fc0)));
  EXPECT_TRUE(std::isnan(dtype::bf16_to_float(0xffc1)));
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(dtype::float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(dtype::float_to_bf16(-1.0f), 0xbf80);
  // Halfway between 1 (even) and 1 + 2^-7: down to the even one.
  EXPECT_EQ(dtype::float_to_bf16(1.0f + 0x1.0p-8f), 0x3f80);
  // Halfway between 1 + 2^-7 (odd) and 1 + 2^-6: up to the even one.
  EXPECT_EQ(dtype::float_to_bf16(1.0f + 0x3.0p-8f), 0x3f82);
  // Just above and just below halfway.
  EXPECT_EQ(dtype::float_to_bf16(1.0f + 0x1.0p-8f + 0x1.0p-20f), 0x3f81);
  EXPECT_EQ(dtype::float_to_bf16(1.0f + 0x1.0p-8f - 0x1.0p-20f), 0x3f80);
  // Carry into the exponent.
  EXPECT_EQ(dtype::float_to_bf16(2.0f - 0x1.0p-10f), 0x4000);
}

TEST(Bf16, EveryFiniteCodeRoundTrips) {
  for (std::uint32_t h = 0; h <= 0xffff; ++h) {
    if ((h & 0x7f80) == 0x7f80) continue;  // infinities and NaNs
    ASSERT_EQ(dtype::float_to_bf16(dtype::bf16_to_float(static_cast<std::uint16_t>(h))), h) << std::hex << h;
  }
}

TEST(Fp16, DecodesKnownValues) {
  EXPECT_EQ(dtype::fp16_to_float(0x3c00), 1.0f);
  EXPECT_EQ(dtype::fp16_to_float(0xbc00), -1.0f);
  EXPECT_EQ(dtype::fp16_to_float(0x0000), 0.0f);
  EXPECT_TRUE(std::signbit(dtype::fp16_to_float(0x8000)));
  EXPECT_EQ(dtype::fp16_to_float(0x3555), 0x1.554p-2f);   // fp16 nearest to 1/3
  EXPECT_EQ(dtype::fp16_to_float(0x7bff), 65504.0f);      // largest finite
  EXPECT_EQ(dtype::fp16_to_float(0xfbff), -65504.0f);
  EXPECT_EQ(dtype::fp16_to_float(0x0400), 0x1.0p-14f);    // smallest normal
  EXPECT_EQ(dtype::fp16_to_float(0x03ff), 0x3ffp-24f);    // largest subnormal
  EXPECT_EQ(dtype::fp16_to_float(0x0001), 0x1.0p-24f);    // smallest subnormal
  EXPECT_EQ(dtype::fp16_to_float(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(dtype::fp16_to_float(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(dtype::fp16_to_float(0x7e00)));
  EXPECT_TRUE(std::isnan(dtype::fp16_to_float(0x7c01)));
  EXPECT_TRUE(std::isnan(dtype::fp16_to_float(0xfe00)));
}

TEST(Fp16, FiniteCodesIncreaseAndMirror) {
  float previous = -1;
  for (std::uint16_t h = 0; h < 0x7c00; ++h) {
    const float x = dtype::fp16_to_float(h);
    ASSERT_GT(x, previous) << std::hex << h;
    ASSERT_EQ(dtype::fp16_to_float(static_cast<std::uint16_t>(h | 0x8000)), -x) << std::hex << h;
    previous = x;
  }
}

TEST(E4m3, DecodesKnownValues) {
  EXPECT_EQ(dtype::e4m3_to_float(0x38), 1.0f);
  EXPECT_EQ(dtype::e4m3_to_float(0xb8), -1.0f);
  EXPECT_EQ(dtype::e4m3_to_float(0x00), 0.0f);
  EXPECT_TRUE(std::signbit(dtype::e4m3_to_float(0x80)));
  EXPECT_EQ(dtype::e4m3_to_float(0x3c), 1.5f);
  EXPECT_EQ(dtype::e4m3_to_float(0x78), 256.0f);          // exponent 15 is finite: no infinities
  EXPECT_EQ(dtype::e4m3_to_float(0x7e), 448.0f);          // largest finite
  EXPECT_EQ(dtype::e4m3_to_float(0xfe), -448.0f);
  EXPECT_EQ(dtype::e4m3_to_float(0x08), 0x1.0p-6f);       // smallest normal
  EXPECT_EQ(dtype::e4m3_to_float(0x07), 0x7p-9f);         // largest subnormal
  EXPECT_EQ(dtype::e4m3_to_float(0x01), 0x1.0p-9f);       // smallest subnormal
  EXPECT_TRUE(std::isnan(dtype::e4m3_to_float(0x7f)));    // the only NaN codes
  EXPECT_TRUE(std::isnan(dtype::e4m3_to_float(0xff)));
}

TEST(E4m3, FiniteCodesIncreaseAndMirror) {
  float previous = -1;
  for (std::uint8_t b = 0; b < 0x7f; ++b) {
    const float x = dtype::e4m3_to_float(b);
    ASSERT_TRUE(std::isfinite(x)) << std::hex << int{b};
    ASSERT_GT(x, previous) << std::hex << int{b};
    ASSERT_EQ(dtype::e4m3_to_float(static_cast<std::uint8_t>(b | 0x80)), -x) << std::hex << int{b};
    previous = x;
  }
}

}  // namespace
}  // namespace rackqual

namespace rackqual {
namespace {

TEST(DType, TraitsAndNames) {
  for (DType t : all_dtypes()) EXPECT_EQ(parse_dtype(to_string(t)), t);
  EXPECT_EQ(traits(DType::bf16).bytes, 2);
  EXPECT_EQ(traits(DType::fp8).bytes, 1);
  EXPECT_EQ(traits(DType::tf32).bytes, 4);
  EXPECT_EQ(traits(DType::fp64).unit_roundoff, 0x1.0p-53);
  EXPECT_EQ(traits(DType::fp16).unit_roundoff, 0x1.0p-11);
  EXPECT_EQ(parse_dtype("fp4"), std::nullopt);
  EXPECT_EQ(parse_dtype("FP32"), std::nullopt);
}

TEST(DType, TableFollowsTheEnum) {
  for (DType t : all_dtypes()) EXPECT_EQ(traits(t).type, t) << to_string(t);
  EXPECT_EQ(all_dtypes().size(), 7u);
  EXPECT_FALSE(traits(DType::int32).floating);
  EXPECT_EQ(traits(DType::bf16).nccl_name, "ncclBfloat16");
  EXPECT_EQ(traits(DType::tf32).nccl_name, "");   // NCCL reduces tf32 data as fp32
  EXPECT_EQ(traits(DType::fp8).cuda_name, "CUDA_R_8F_E4M3");
  EXPECT_EQ(traits(DType::fp16).numpy_name, "float16");
  // bf16 and fp16 are accumulated in fp32 on a GPU's matrix units, and rounded on output.
  EXPECT_EQ(traits(DType::bf16).gpu_accumulation_roundoff, 0x1.0p-24);
  EXPECT_EQ(traits(DType::bf16).output_roundoff, 0x1.0p-8);
  EXPECT_EQ(traits(DType::fp32).output_roundoff, 0);
}

TEST(DType, ByPrecisionPutsFp16BeforeBf16AndLeavesIntegersOut) {
  const std::vector<DType> expected = {DType::fp64, DType::fp32, DType::tf32, DType::fp16, DType::bf16, DType::fp8};
  EXPECT_EQ(dtypes_by_precision(), expected);
}

}  // namespace
}  // namespace rackqual
