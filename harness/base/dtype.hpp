#pragma once
// Element types, decoded once when a suite loads, with their traits: the one list the harness,
// the training-step model, both backends and the Python module (_core.element_types) share.
// Which backend supports which type for which kind is each backend's own declaration
// (OpRegistration's Support).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rackqual {

enum class DType { fp64, fp32, tf32, bf16, fp16, fp8, int32 };

struct DTypeTraits {
  DType type;
  std::string_view name;
  int bytes;              // storage per element (tf32 is stored as fp32)
  bool floating;          // a number format the kinds measure; int32 only holds token ids
  double unit_roundoff;   // u = 2^-(mantissa bits + 1): rounding error of one operation (0: exact)
  // On a GPU's matrix units the products are accumulated in the compute type, not the storage
  // type: unit roundoff of that accumulation (bf16 and fp16 accumulate in fp32).
  double gpu_accumulation_roundoff;
  // Unit roundoff of storing an fp32 accumulation as the GEMM's output type (fp8 writes bf16);
  // 0 where the output is the accumulation type.
  double output_roundoff;
  std::string_view cuda_name;    // cudaDataType_t of its storage
  std::string_view nccl_name;    // ncclDataType_t; empty where NCCL has none
  std::string_view numpy_name;   // numpy dtype; empty where numpy has none
  std::string_view help;
};

const DTypeTraits& traits(DType type);
inline std::string_view to_string(DType type) { return traits(type).name; }
std::optional<DType> parse_dtype(std::string_view name);
// Every type, in declaration order (widest floating type first).
const std::vector<DType>& all_dtypes();
// The floating types from most to least precise (unit roundoff, then declaration order): what
// "the nearest type measured" means when a figure of the wanted one is missing.
std::vector<DType> dtypes_by_precision();

}  // namespace rackqual
