#pragma once
// cuBLASLt's first algorithm for a product, or none. cuBLASLt says "none" two ways: `found` 0, or
// the status CUBLAS_STATUS_NOT_SUPPORTED for a type, layout or alignment it has no kernel for.
// Both become nothing here, so the caller throws one clear error naming the shape and type.
#include <cublasLt.h>

#include <optional>

#include "kernels/cuda/check.hpp"

namespace rackqual::cuda {

inline std::optional<cublasLtMatmulAlgo_t> first_algorithm(cublasLtHandle_t lt, cublasLtMatmulDesc_t desc,
                                                           cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                                           cublasLtMatrixLayout_t c, cublasLtMatmulPreference_t preference) {
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t rc = cublasLtMatmulAlgoGetHeuristic(lt, desc, a, b, c, c, preference, 1, &result, &found);
  if (rc == CUBLAS_STATUS_NOT_SUPPORTED) return std::nullopt;
  RACKQUAL_CHECK(rc);
  if (found == 0 || result.state != CUBLAS_STATUS_SUCCESS) return std::nullopt;
  return result.algo;
}

// Asks for algorithms that split no k (no split-K reduction), so that each output is one
// accumulation in one order: what lets healthy GPUs of one model write the same bits.
inline void pin_no_reduction(cublasLtMatmulPreference_t preference) {
  const std::uint32_t schemes = CUBLASLT_REDUCTION_SCHEME_NONE;
  RACKQUAL_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, &schemes,
                                                      sizeof schemes));
}

}  // namespace rackqual::cuda
