#pragma once
// Element types, decoded once when a suite loads, with their traits. Which backend supports
// which type for which kind is each backend's own declaration (OpRegistration's Support).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rackqual {

enum class DType { fp64, fp32, tf32, bf16, fp16, fp8 };

struct DTypeTraits {
  DType type;
  std::string_view name;
  int bytes;              // storage per element (tf32 is stored as fp32)
  double unit_roundoff;   // u = 2^-(mantissa bits + 1): rounding error of one operation
  std::string_view help;
};

const DTypeTraits& traits(DType type);
inline std::string_view to_string(DType type) { return traits(type).name; }
std::optional<DType> parse_dtype(std::string_view name);
// Every type, in declaration order (widest first).
const std::vector<DType>& all_dtypes();

}  // namespace rackqual
