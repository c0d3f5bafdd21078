#pragma once
// What a matrix multiply on the GPU needs besides its operands: shared by the gemm kind's
// memory estimate and the cuda backend's products (the GEMM and the training step's).
#include <cstddef>

namespace rackqual {

// cuBLASLt's workspace (split-K and the like), allocated once per set of products.
inline constexpr std::size_t cublaslt_workspace_bytes = std::size_t{32} << 20;

}  // namespace rackqual
