#include "rackqual/base/dtype.hpp"

#include <algorithm>
#include <array>

namespace rackqual {
namespace {

// Hopper's fp8 tensor cores keep fewer accumulator bits than fp32: 2^-12 is conservative.
const std::array<DTypeTraits, 7> table = {{
    {DType::fp64, "fp64", 8, true, 0x1.0p-53, 0x1.0p-53, 0, "CUDA_R_64F", "ncclFloat64", "float64", "IEEE binary64"},
    {DType::fp32, "fp32", 4, true, 0x1.0p-24, 0x1.0p-24, 0, "CUDA_R_32F", "ncclFloat32", "float32", "IEEE binary32"},
    {DType::tf32, "tf32", 4, true, 0x1.0p-11, 0x1.0p-11, 0, "CUDA_R_32F", "", "float32",
     "fp32 storage, inputs rounded to 10 mantissa bits by tensor cores"},
    {DType::bf16, "bf16", 2, true, 0x1.0p-8, 0x1.0p-24, 0x1.0p-8, "CUDA_R_16BF", "ncclBfloat16", "",
     "bfloat16: 8 exponent, 7 mantissa bits"},
    {DType::fp16, "fp16", 2, true, 0x1.0p-11, 0x1.0p-24, 0x1.0p-11, "CUDA_R_16F", "ncclFloat16", "float16", "IEEE binary16"},
    {DType::fp8, "fp8", 1, true, 0x1.0p-4, 0x1.0p-12, 0x1.0p-8, "CUDA_R_8F_E4M3", "ncclFloat8e4m3", "",
     "fp8 e4m3: 4 exponent, 3 mantissa bits, with scales"},
    {DType::int32, "int32", 4, false, 0, 0, 0, "CUDA_R_32I", "ncclInt32", "int32", "32-bit integer (token ids)"},
}};

}  // namespace

const DTypeTraits& traits(DType type) { return table[static_cast<std::size_t>(type)]; }

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& t : table)
    if (t.name == name) return t.type;
  return std::nullopt;
}

const std::vector<DType>& all_dtypes() {
  static const std::vector<DType> all = [] {
    std::vector<DType> types;
    for (const auto& t : table) types.push_back(t.type);
    return types;
  }();
  return all;
}

std::vector<DType> dtypes_by_precision() {
  std::vector<DType> types;
  for (const auto& t : table)
    if (t.floating) types.push_back(t.type);
  std::stable_sort(types.begin(), types.end(),
                   [](DType a, DType b) { return traits(a).unit_roundoff < traits(b).unit_roundoff; });
  return types;
}

}  // namespace rackqual
