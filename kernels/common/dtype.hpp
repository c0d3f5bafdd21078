#pragma once
// Narrow floating-point formats as raw bits, decoded and rounded the same way on the host
// and the device: bf16 (1-8-7), fp16 (1-5-10) and fp8 e4m3 (1-4-3, no infinities, max 448).
// The host reference of a GPU GEMM reads back the exact values the GPU multiplied.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/common/hd.hpp"

namespace rackqual::dtype {

RACKQUAL_HD inline float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
RACKQUAL_HD inline std::uint32_t float_to_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

// bf16 is the top half of an fp32.
RACKQUAL_HD inline float bf16_to_float(std::uint16_t h) { return bits_to_float(static_cast<std::uint32_t>(h) << 16); }
// Round to nearest even (finite inputs).
RACKQUAL_HD inline std::uint16_t float_to_bf16(float f) {
  const std::uint32_t u = float_to_bits(f);
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// Decodes a binary format with `e` exponent bits and `m` mantissa bits (bias 2^(e-1) - 1).
RACKQUAL_HD inline float decode(std::uint32_t bits, int e, int m) {
  const std::uint32_t sign = bits >> (e + m);
  const int exponent = static_cast<int>((bits >> m) & ((1u << e) - 1));
  const std::uint32_t mantissa = bits & ((1u << m) - 1);
  const int bias = (1 << (e - 1)) - 1;
  // Subnormals (exponent 0) have no implicit leading one.
  const float significand = static_cast<float>(exponent == 0 ? mantissa : (1u << m) | mantissa);
  const float value = ldexpf(significand, (exponent == 0 ? 1 : exponent) - bias - m);
  return sign ? -value : value;
}

RACKQUAL_HD inline float fp16_to_float(std::uint16_t h) {
  if (((h >> 10) & 0x1f) == 0x1f) return bits_to_float(((h & 0x8000u) << 16) | 0x7f800000u | ((h & 0x3ffu) << 13));
  return decode(h, 5, 10);
}
// e4m3: exponent 15 with mantissa 7 is NaN; every other code is finite.
RACKQUAL_HD inline float e4m3_to_float(std::uint8_t b) {
  if ((b & 0x7f) == 0x7f) return bits_to_float(0x7fc00000u);
  return decode(b, 4, 3);
}

}  // namespace rackqual::dtype
