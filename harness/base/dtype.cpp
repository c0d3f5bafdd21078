#include "rackqual/base/dtype.hpp"

#include <array>

namespace rackqual {
namespace {

const std::array<DTypeTraits, 6> table = {{
    {DType::fp64, "fp64", 8, 0x1.0p-53, "IEEE binary64"},
    {DType::fp32, "fp32", 4, 0x1.0p-24, "IEEE binary32"},
    {DType::tf32, "tf32", 4, 0x1.0p-11, "fp32 storage, inputs rounded to 10 mantissa bits by tensor cores"},
    {DType::bf16, "bf16", 2, 0x1.0p-8, "bfloat16: 8 exponent, 7 mantissa bits"},
    {DType::fp16, "fp16", 2, 0x1.0p-11, "IEEE binary16"},
    {DType::fp8, "fp8", 1, 0x1.0p-4, "fp8 e4m3: 4 exponent, 3 mantissa bits, with scales"},
}};

}  // namespace

const DTypeTraits& traits(DType type) { return table[static_cast<std::size_t>(type)]; }

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& t : table)
    if (t.name == name) return t.type;
  return std::nullopt;
}

const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> all = {DType::fp64, DType::fp32, DType::tf32, DType::bf16, DType::fp16, DType::fp8};
  return all;
}

}  // namespace rackqual
