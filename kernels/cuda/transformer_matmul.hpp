#pragma once
// Row-major matrix products for the transformer through cuBLASLt, one plan (descriptor, three
// layouts and the heuristic's algorithm) per distinct shape, built on first use and kept.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <type_traits>

#include "kernels/common/matmul.hpp"

namespace rackqual::cuda {

// Row-major C = alpha op(A) op(B) + beta C with op(A) m x k and op(B) k x n, over `batch`
// matrices that lie stride_* elements apart. A and B share one element type, C has its own;
// the product accumulates in fp32 (CUBLAS_COMPUTE_32F, fp32 alpha and beta).
struct MatmulShape {
  bool ta = false, tb = false;
  std::int64_t m = 0, n = 0, k = 0;
  std::int64_t lda = 0, ldb = 0, ldc = 0;
  cudaDataType_t ab = CUDA_R_32F, c = CUDA_R_32F;
  std::int32_t batch = 1;
  std::int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  auto operator<=>(const MatmulShape&) const = default;
};

template <auto destroy>
struct LtDestroy {
  void operator()(auto* p) const { static_cast<void>(destroy(p)); }   // destructors must not throw
};
template <typename Handle, auto destroy>
using LtOwned = std::unique_ptr<std::remove_pointer_t<Handle>, LtDestroy<destroy>>;

class Matmuls {
 public:
  // `workspace`: workspace_bytes of device memory the caller owns and keeps for the products.
  // `one_order`: only algorithms that split no k, so that every output is one accumulation in
  // one order and healthy GPUs of one model write the same bits (the consensus vote).
  Matmuls(cublasLtHandle_t lt, void* workspace, bool one_order);

  // Enqueues the product on `stream`. Throws std::runtime_error when cuBLASLt has no algorithm.
  void run(const MatmulShape& shape, const void* a, const void* b, void* c, float alpha, float beta, cudaStream_t stream);

  static constexpr std::size_t workspace_bytes = cublaslt_workspace_bytes;   // of one Matmuls

 private:
  // A shape and the alignment of its three pointers: the heuristic's choice depends on both.
  struct Key {
    MatmulShape shape;
    int align_a, align_b, align_c;
    auto operator<=>(const Key&) const = default;
  };
  struct Plan {
    LtOwned<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy> desc;
    LtOwned<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy> a, b, c;
    cublasLtMatmulAlgo_t algorithm{};
  };

  const Plan& plan(const Key& key);

  cublasLtHandle_t lt_;
  void* workspace_;
  bool one_order_;
  std::map<Key, Plan> plans_;
};

}  // namespace rackqual::cuda
