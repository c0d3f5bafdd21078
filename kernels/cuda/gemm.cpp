// gemm on a GPU: cuBLASLt D = A·B, timed with CUDA events on the backend's stream.
//
// Every dtype uses the "TN" layout, the one cuBLASLt supports for all of them (fp8 requires
// it): A is stored k×m column-major and transposed, so row i of A is contiguous; B is stored
// k×n column-major, so column j of B is contiguous; C = D is m×n column-major.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/common/consensus.hpp"
#include "kernels/common/dtype.hpp"
#include "kernels/common/gemm_check.hpp"
#include "kernels/common/hash.hpp"
#include "kernels/common/matmul.hpp"
#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_backend.hpp"
#include "kernels/cuda/device.hpp"
#include "kernels/cuda/gemm_kernels.hpp"
#include "kernels/cuda/matmul_heuristic.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual::cuda {
namespace {

constexpr std::size_t workspace_bytes = cublaslt_workspace_bytes;
constexpr int random_samples = 62;                              // plus both corners: 64 checked outputs

// alpha = 1 and beta = 0 in the scale type, passed by host pointer (the default pointer mode).
constexpr double one_f64 = 1, zero_f64 = 0;
constexpr float one_f32 = 1, zero_f32 = 0;

// How one dtype maps onto cuBLASLt.
struct Types {
  cudaDataType_t input;          // A and B
  cudaDataType_t output;         // C and D
  cublasComputeType_t compute;   // the accumulation
  cudaDataType_t scale;          // alpha, beta and the fp8 input scales
  int min_capability;            // 10 * major + minor
};

// Narrow types accumulate in fp32; fp8 (e4m3) inputs write a bf16 output.
Types types_of(DType dtype) {
  switch (dtype) {
    case DType::fp64: return {CUDA_R_64F, CUDA_R_64F, CUBLAS_COMPUTE_64F, CUDA_R_64F, 0};
    case DType::fp32: return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, CUDA_R_32F, 0};
    case DType::tf32: return {CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, CUDA_R_32F, 80};
    case DType::bf16: return {CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, 80};
    case DType::fp16: return {CUDA_R_16F, CUDA_R_16F, CUBLAS_COMPUTE_32F, CUDA_R_32F, 0};
    case DType::fp8: return {CUDA_R_8F_E4M3, CUDA_R_16BF, CUBLAS_COMPUTE_32F, CUDA_R_32F, 89};
    default: break;
  }
  throw SetupError("cuda backend: gemm dtype " + std::string(to_string(dtype)) +
                   " is not supported (fp64, fp32, tf32, bf16, fp16, fp8)");
}

std::size_t size_of(cudaDataType_t type) {
  switch (type) {
    case CUDA_R_64F: return 8;
    case CUDA_R_32F: return 4;
    case CUDA_R_16BF:
    case CUDA_R_16F: return 2;
    case CUDA_R_8F_E4M3: return 1;
    default: throw std::logic_error("gemm: unexpected cudaDataType_t " + std::to_string(type));
  }
}

std::string capability_text(int capability) { return std::to_string(capability / 10) + "." + std::to_string(capability % 10); }

// Tensor cores for bf16 and tf32 arrived with Ampere (8.0), for fp8 with Ada (8.9).
void require_capability(DType dtype, int needed, const cudaDeviceProp& device) {
  const int capability = 10 * device.major + device.minor;
  if (capability < needed)
    throw SetupError("cuda backend: gemm dtype " + std::string(to_string(dtype)) + " needs compute capability " + capability_text(needed) +
                     " or newer; " + device.name + " is " + capability_text(capability));
}

// Destroys a cuBLASLt object when its owner goes; the status is dropped, as destructors must not throw.
template <auto destroy>
struct Destroy {
  void operator()(auto* p) const { static_cast<void>(destroy(p)); }
};
template <typename Handle, auto destroy>
using Owned = std::unique_ptr<std::remove_pointer_t<Handle>, Destroy<destroy>>;

using MatmulDesc = Owned<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy>;
using Layout = Owned<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>;
using Preference = Owned<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>;

// Untyped device memory: operands whose element type is chosen at run time.
using Bytes = DeviceArray<unsigned char>;

// A column-major rows×cols matrix whose leading dimension is rows.
Layout make_layout(cudaDataType_t type, std::int64_t rows, std::int64_t cols) {
  cublasLtMatrixLayout_t layout = nullptr;
  RACKQUAL_CHECK(
      cublasLtMatrixLayoutCreate(&layout, type, static_cast<std::uint64_t>(rows), static_cast<std::uint64_t>(cols), rows));
  return Layout(layout);
}

template <typename T>
void set_attribute(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, const T& value) {
  RACKQUAL_CHECK(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof value));
}

template <typename T>
void launch_fill(void* x, std::int64_t count, std::uint64_t seed, int blocks, cudaStream_t stream) {
  launch_gemm_fill<T>(blocks, static_cast<T*>(x), count, seed, stream);
  RACKQUAL_CHECK(cudaGetLastError());
}

// Fills count elements of a device array with random values, never all zeros.
void fill(void* x, cudaDataType_t type, std::int64_t count, std::uint64_t seed, int blocks, cudaStream_t stream) {
  switch (type) {
    case CUDA_R_64F: return launch_fill<double>(x, count, seed, blocks, stream);
    case CUDA_R_32F: return launch_fill<float>(x, count, seed, blocks, stream);
    case CUDA_R_16BF: return launch_fill<__nv_bfloat16>(x, count, seed, blocks, stream);
    case CUDA_R_16F: return launch_fill<__half>(x, count, seed, blocks, stream);
    case CUDA_R_8F_E4M3: return launch_fill<__nv_fp8_e4m3>(x, count, seed, blocks, stream);
    default: throw std::logic_error("gemm: no fill for cudaDataType_t " + std::to_string(type));
  }
}

template <typename T>
T load(const unsigned char* bits) {
  T x;
  std::memcpy(&x, bits, sizeof x);
  return x;
}

// One stored element as a double, decoded on the host from the GPU's own bits.
double decode(cudaDataType_t type, const unsigned char* bits) {
  switch (type) {
    case CUDA_R_64F: return load<double>(bits);
    case CUDA_R_32F: return load<float>(bits);
    case CUDA_R_16BF: return dtype::bf16_to_float(load<std::uint16_t>(bits));
    case CUDA_R_16F: return dtype::fp16_to_float(load<std::uint16_t>(bits));
    case CUDA_R_8F_E4M3: return dtype::e4m3_to_float(bits[0]);
    default: throw std::logic_error("gemm: no decoding for cudaDataType_t " + std::to_string(type));
  }
}

// Elements [first, first + count) of a device array, copied as raw bits and decoded.
std::vector<double> read(const Bytes& device, cudaDataType_t type, std::int64_t first, std::int64_t count, cudaStream_t stream) {
  const std::size_t size = size_of(type);
  std::vector<unsigned char> bits(static_cast<std::size_t>(count) * size);
  to_host(bits.data(), device.get() + static_cast<std::size_t>(first) * size, bits.size(), stream);
  std::vector<double> values(static_cast<std::size_t>(count));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = decode(type, bits.data() + i * size);
  return values;
}

template <typename T>
std::vector<unsigned char> bytes_of(T value) {
  std::vector<unsigned char> bytes(sizeof value);
  std::memcpy(bytes.data(), &value, sizeof value);
  return bytes;
}

// The largest finite value of an output type, as raw bits.
std::vector<unsigned char> largest_finite(cudaDataType_t type) {
  switch (type) {
    case CUDA_R_64F: return bytes_of(DBL_MAX);
    case CUDA_R_32F: return bytes_of(FLT_MAX);
    case CUDA_R_16BF: return bytes_of(std::uint16_t{0x7f7f});   // 0x1.fep127
    case CUDA_R_16F: return bytes_of(std::uint16_t{0x7bff});    // 65504
    default: throw std::logic_error("gemm: no largest value for cudaDataType_t " + std::to_string(type));
  }
}

// Enough operand sets that together they exceed twice the L2 (at least 2), so that each run
// reads its inputs from memory; at most 40% of device memory (then fewer, at least 1).
std::size_t set_count(std::size_t set_bytes, const cudaDeviceProp& device) {
  const std::size_t beyond_l2 = 2 * static_cast<std::size_t>(device.l2CacheSize) / set_bytes + 1;
  const std::size_t affordable = static_cast<std::size_t>(0.4 * static_cast<double>(device.totalGlobalMem)) / set_bytes;
  return std::max<std::size_t>(1, std::min(std::max<std::size_t>(2, beyond_l2), affordable));
}

// One set of operands in device memory; D is written over C.
struct Operands {
  Bytes a, b, c;
};

// With `consensus`, every rank multiplies the same first operand set (its seeds do not depend on
// the rank) with the same algorithm, so that healthy GPUs of one model and cuBLASLt version
// write the same bits.
class Gemm : public Op {
 public:
  Gemm(CudaBackend& cuda, std::int64_t m, std::int64_t n, std::int64_t k, DType dtype, bool consensus)
      : cuda_(cuda), m_(m), n_(n), k_(k), dtype_(dtype), types_(types_of(dtype_)), consensus_(consensus) {
    require_capability(dtype_, types_.min_capability, cuda_.properties());
    scale_ = device_array<float>(1);
    to_device(scale_.get(), &one_f32, 1, cuda_.stream());
    describe();
    choose_algorithm();
    workspace_ = device_array<unsigned char>(workspace_bytes);
    allocate_operands();
  }

  void launch() override {
    last_ = next_;
    next_ = (next_ + 1) % sets_.size();
    const Operands& set = sets_[last_];
    const cudaStream_t stream = cuda_.stream();
    RACKQUAL_CHECK(cublasLtMatmul(cuda_.lt(), desc_.get(), alpha(), set.a.get(), a_layout_.get(), set.b.get(), b_layout_.get(),
                                  beta(), set.c.get(), c_layout_.get(), set.c.get(), c_layout_.get(), &algorithm_,
                                  workspace_.get(), workspace_bytes, stream));
    ran_ = true;
  }

  void wait() override { RACKQUAL_CHECK(cudaStreamSynchronize(cuda_.stream())); }

  // Sampled outputs of the last run against a double dot product of the exact stored inputs.
  Correctness verify() override {
    if (!ran_) return {false, "gemm: no run to verify"};
    wait();
    const Operands& set = sets_[last_];
    const cudaStream_t stream = cuda_.stream();
    const auto points = gemm::samples(m_, n_, random_samples);
    for (const auto& [i, j] : points) {
      const auto row = read(set.a, types_.input, i * k_, k_, stream);      // A(i, :)
      const auto column = read(set.b, types_.input, j * k_, k_, stream);   // B(:, j)
      const double got = read(set.c, types_.output, i + j * m_, 1, stream)[0];
      const auto [ref, magnitude] = gemm::dot_reference(row.data(), column.data(), k_);
      const double bound = gemm::gpu_bound(dtype_, k_, ref, magnitude);
      if (!(std::fabs(got - ref) <= bound)) {
        char detail[200];
        std::snprintf(detail, sizeof detail, "C(%lld,%lld) = %.9g, reference %.9g (error %.3g > bound %.3g)",
                      static_cast<long long>(i), static_cast<long long>(j), got, ref, std::fabs(got - ref), bound);
        return {false, detail};
      }
    }
    return {true, std::to_string(points.size()) + " sampled outputs within " + dtype_name() + " tolerance of a double reference"};
  }

  // C(0,0) of the last run becomes the largest finite value of its type: true outputs are
  // about sqrt(k)/3 in size, so no tolerance covers it.
  void inject_error() override {
    const auto bits = largest_finite(types_.output);
    to_device(sets_[last_].c.get(), bits.data(), bits.size(), cuda_.stream());
  }

  // The hash of the last run's C, copied to the host.
  std::optional<Digest> digest() override {
    if (!consensus_) return std::nullopt;
    wait();
    std::vector<unsigned char> bytes(static_cast<std::size_t>(m_ * n_) * size_of(types_.output));
    to_host(bytes.data(), sets_[last_].c.get(), bytes.size(), cuda_.stream());
    return Digest{consensus::hex(fnv1a_words(bytes.data(), bytes.size())),
                  "C, " + std::to_string(m_) + " x " + std::to_string(n_) + " " + dtype_name() + " input",
                  "cuBLASLt " + std::to_string(cublasLtGetVersion()), {}, 0};
  }

  // One ulp of an element the check does not sample.
  void corrupt() override {
    wait();
    const auto [i, j] = consensus::unsampled_element(m_, n_, random_samples);
    const std::size_t size = size_of(types_.output);
    unsigned char* element = sets_[last_].c.get() + static_cast<std::size_t>(i + j * m_) * size;
    std::vector<unsigned char> bits(size);
    to_host(bits.data(), element, size, cuda_.stream());
    consensus::flip_lowest_bit(bits.data());
    to_device(element, bits.data(), size, cuda_.stream());
  }

 private:
  // The matmul (transpose A, not B) and the three matrix layouts.
  void describe() {
    cublasLtMatmulDesc_t desc = nullptr;
    RACKQUAL_CHECK(cublasLtMatmulDescCreate(&desc, types_.compute, types_.scale));
    desc_.reset(desc);
    set_attribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T);
    set_attribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N);
    if (types_.input == CUDA_R_8F_E4M3) {
      // fp8 takes per-tensor scales of A and B from device memory: both 1 here.
      const void* scale = scale_.get();
      set_attribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, scale);
      set_attribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, scale);
    }
    a_layout_ = make_layout(types_.input, k_, m_);
    b_layout_ = make_layout(types_.input, k_, n_);
    c_layout_ = make_layout(types_.output, m_, n_);
  }

  // cuBLASLt's first choice for this shape within the workspace, kept for every run. With
  // `consensus`, among algorithms that reduce no split of k (no split-K reduction scheme), so
  // each output is one accumulation in one order on every GPU of the model.
  void choose_algorithm() {
    cublasLtMatmulPreference_t handle = nullptr;
    RACKQUAL_CHECK(cublasLtMatmulPreferenceCreate(&handle));
    const Preference preference(handle);
    const std::uint64_t max_workspace = workspace_bytes;
    RACKQUAL_CHECK(cublasLtMatmulPreferenceSetAttribute(handle, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_workspace,
                                                        sizeof max_workspace));
    if (consensus_) pin_no_reduction(handle);
    const auto algorithm = first_algorithm(cuda_.lt(), desc_.get(), a_layout_.get(), b_layout_.get(), c_layout_.get(), handle);
    if (!algorithm) {
      const std::string hint =
          types_.input == CUDA_R_8F_E4M3 ? " (fp8 needs 16-byte leading dimensions: k a multiple of 16, m of 8)" : "";
      throw SetupError("cuda backend: cuBLASLt has no gemm algorithm for dtype " + dtype_name() + " at m=" + std::to_string(m_) +
                       " n=" + std::to_string(n_) + " k=" + std::to_string(k_) + " on " + cuda_.properties().name + hint);
    }
    algorithm_ = *algorithm;
  }

  // The operand sets, filled with random values; set s uses seeds 3s+1, 3s+2, 3s+3.
  void allocate_operands() {
    const std::size_t in = size_of(types_.input), out = size_of(types_.output);
    const auto a_count = m_ * k_, b_count = k_ * n_, c_count = m_ * n_;
    const auto set_bytes = static_cast<std::size_t>(a_count + b_count) * in + static_cast<std::size_t>(c_count) * out;
    const std::size_t count = set_count(set_bytes, cuda_.properties());
    const cudaStream_t stream = cuda_.stream();
    const int blocks = grid_blocks(cuda_.properties());
    for (std::size_t s = 0; s < count; ++s) {
      Operands set{device_array<unsigned char>(static_cast<std::size_t>(a_count) * in),
                   device_array<unsigned char>(static_cast<std::size_t>(b_count) * in),
                   device_array<unsigned char>(static_cast<std::size_t>(c_count) * out)};
      fill(set.a.get(), types_.input, a_count, 3 * s + 1, blocks, stream);
      fill(set.b.get(), types_.input, b_count, 3 * s + 2, blocks, stream);
      fill(set.c.get(), types_.output, c_count, 3 * s + 3, blocks, stream);  // an output left unwritten cannot pass
      sets_.push_back(std::move(set));
    }
    RACKQUAL_CHECK(cudaStreamSynchronize(stream));
  }

  const void* alpha() const { return types_.scale == CUDA_R_64F ? static_cast<const void*>(&one_f64) : &one_f32; }
  const void* beta() const { return types_.scale == CUDA_R_64F ? static_cast<const void*>(&zero_f64) : &zero_f32; }

  std::string dtype_name() const { return std::string(to_string(dtype_)); }

  CudaBackend& cuda_;
  std::int64_t m_, n_, k_;
  DType dtype_;
  Types types_;
  bool consensus_;
  // Owners: everything below is freed or destroyed with the operation.
  DeviceArray<float> scale_;   // the fp8 input scales, 1
  Bytes workspace_;
  std::vector<Operands> sets_;
  MatmulDesc desc_;
  Layout a_layout_, b_layout_, c_layout_;
  cublasLtMatmulAlgo_t algorithm_{};
  std::size_t next_ = 0;  // the set the next run uses
  std::size_t last_ = 0;  // the set the last run used
  bool ran_ = false;
};

std::unique_ptr<Op> make(const OpContext& ctx) {
  auto& cuda = dynamic_cast<CudaBackend&>(ctx.backend);
  const auto& p = ctx.params.typed<GemmParams>();
  return std::make_unique<Gemm>(cuda, p.m, p.n, p.k, p.dtype, p.consensus);
}

const OpRegistration registration("cuda", "gemm", make, {{"dtype", {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8"}}});

}  // namespace
}  // namespace rackqual::cuda
