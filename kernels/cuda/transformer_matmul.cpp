// Row-major products on column-major cuBLASLt. A row-major r x c matrix with leading dimension
// ld is the column-major c x r matrix with the same ld, so row-major C = op(A) op(B) is
// column-major C^T = op(B)^T op(A)^T: cuBLASLt's "A" is our B, its "B" is our A, and its
// m and n are our n and m.
#include "kernels/cuda/transformer_matmul.hpp"

#include <stdexcept>
#include <string>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/matmul_heuristic.hpp"

namespace rackqual::cuda {
namespace {

using LayoutHandle = LtOwned<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>;

// A column-major rows x cols matrix (batched when batch > 1).
LayoutHandle make_layout(cudaDataType_t type, std::int64_t rows, std::int64_t cols, std::int64_t ld, std::int32_t batch,
                         std::int64_t stride) {
  cublasLtMatrixLayout_t layout = nullptr;
  RACKQUAL_CHECK(cublasLtMatrixLayoutCreate(&layout, type, static_cast<std::uint64_t>(rows), static_cast<std::uint64_t>(cols), ld));
  LayoutHandle owned(layout);
  if (batch > 1) {
    RACKQUAL_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch));
    RACKQUAL_CHECK(
        cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride));
  }
  return owned;
}

// The largest power of two, up to 256, that divides the address.
int alignment(const void* p) {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  int a = 256;
  while (a > 1 && address % static_cast<std::uintptr_t>(a) != 0) a /= 2;
  return a;
}

template <typename T>
void set_preference(cublasLtMatmulPreference_t preference, cublasLtMatmulPreferenceAttributes_t attribute, T value) {
  RACKQUAL_CHECK(cublasLtMatmulPreferenceSetAttribute(preference, attribute, &value, sizeof value));
}

std::string describe(const MatmulShape& s) {
  return "m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " k=" + std::to_string(s.k) + " lda=" +
         std::to_string(s.lda) + " ldb=" + std::to_string(s.ldb) + " ldc=" + std::to_string(s.ldc) +
         (s.ta ? " A^T" : "") + (s.tb ? " B^T" : "") + " batch=" + std::to_string(s.batch);
}

std::string type_name(cudaDataType_t type) {
  switch (type) {
    case CUDA_R_32F: return "fp32";
    case CUDA_R_16BF: return "bf16";
    default: return "cudaDataType_t " + std::to_string(static_cast<int>(type));
  }
}

}  // namespace

Matmuls::Matmuls(cublasLtHandle_t lt, void* workspace, bool one_order) : lt_(lt), workspace_(workspace), one_order_(one_order) {}

const Matmuls::Plan& Matmuls::plan(const Key& key) {
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second;
  const MatmulShape& s = key.shape;
  Plan p;
  cublasLtMatmulDesc_t desc = nullptr;
  RACKQUAL_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  p.desc.reset(desc);
  const cublasOperation_t trans_a = s.tb ? CUBLAS_OP_T : CUBLAS_OP_N;   // cuBLASLt's A is our B
  const cublasOperation_t trans_b = s.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  RACKQUAL_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof trans_a));
  RACKQUAL_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof trans_b));
  // Our B as stored: row-major k x n (n x k when transposed) is column-major n x k (k x n).
  p.a = make_layout(s.ab, s.tb ? s.k : s.n, s.tb ? s.n : s.k, s.ldb, s.batch, s.stride_b);
  // Our A as stored: row-major m x k (k x m when transposed) is column-major k x m (m x k).
  p.b = make_layout(s.ab, s.ta ? s.m : s.k, s.ta ? s.k : s.m, s.lda, s.batch, s.stride_a);
  p.c = make_layout(s.c, s.n, s.m, s.ldc, s.batch, s.stride_c);

  cublasLtMatmulPreference_t handle = nullptr;
  RACKQUAL_CHECK(cublasLtMatmulPreferenceCreate(&handle));
  const LtOwned<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy> preference(handle);
  set_preference(handle, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, std::uint64_t{workspace_bytes});
  set_preference(handle, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, static_cast<std::uint32_t>(key.align_b));
  set_preference(handle, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, static_cast<std::uint32_t>(key.align_a));
  set_preference(handle, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, static_cast<std::uint32_t>(key.align_c));
  set_preference(handle, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, static_cast<std::uint32_t>(key.align_c));
  if (one_order_) pin_no_reduction(handle);
  const auto algorithm = first_algorithm(lt_, desc, p.a.get(), p.b.get(), p.c.get(), handle);
  if (!algorithm)
    throw std::runtime_error("cuBLASLt has no algorithm for the transformer product " + describe(s) + " of " +
                             type_name(s.ab) + " inputs");
  p.algorithm = *algorithm;
  return plans_.emplace(key, std::move(p)).first->second;
}

void Matmuls::run(const MatmulShape& shape, const void* a, const void* b, void* c, float alpha, float beta,
                  cudaStream_t stream) {
  const Plan& p = plan(Key{shape, alignment(a), alignment(b), alignment(c)});
  RACKQUAL_CHECK(cublasLtMatmul(lt_, p.desc.get(), &alpha, b, p.a.get(), a, p.b.get(), &beta, c, p.c.get(), c, p.c.get(),
                                &p.algorithm, workspace_, workspace_bytes, stream));
}

}  // namespace rackqual::cuda
