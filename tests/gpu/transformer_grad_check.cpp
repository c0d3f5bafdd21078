// The cuda transformer's gradients against the host model's, computed in double from the same
// fp32 initial weights and tokens: one forward and backward pass of a small model in each
// precision. Every tensor's largest gradient error must stay within a fraction of that tensor's
// largest gradient magnitude (host): 5e-2 for bf16 (operands rounded to 8 significant bits,
// about 4e-3 each, through two layers), 1e-3 for fp32. The loss is held to the same fraction.
// Exits 77 (ctest's skip) on a machine without a GPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <vector>

#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"
#include "kernels/cuda/transformer_model.hpp"
#include "kernels/host/transformer_model.hpp"

namespace {

using namespace rackqual;
using transformer::Layout;
using transformer::Shape;

constexpr int skip = 77;
using transformer::token_seed;
using transformer::weight_seed;

// Tensor names in transformer::Tensor order.
constexpr const char* tensor_names[] = {"token_embedding", "position_embedding", "ln1_gamma", "ln1_beta", "qkv_weight",
                                        "qkv_bias", "proj_weight", "proj_bias", "ln2_gamma", "ln2_beta", "fc1_weight",
                                        "fc1_bias", "fc2_weight", "fc2_bias", "final_gamma", "final_beta", "lm_head"};

struct Reference {
  double loss;
  std::vector<double> grads;
};

// The host model in double on the fp32 initial weights the device starts from.
Reference host_reference(const Shape& shape, const std::vector<std::int32_t>& tokens) {
  const Layout layout(shape);
  const auto total = static_cast<std::size_t>(layout.total());
  std::vector<float> w32(total);
  host::initialise_weights(layout, weight_seed, w32.data());
  const std::vector<double> w(w32.begin(), w32.end());
  host::Model<double> model(shape);
  Reference ref{0, std::vector<double>(total)};
  ref.loss = model.forward_backward(w.data(), tokens.data(), ref.grads.data());
  return ref;
}

// Compares the device's gradients in one precision with the reference; prints every tensor
// that fails and one summary line. Returns whether all passed.
bool check(const char* name, cuda::Precision precision, double tolerance, const Shape& shape,
           const std::vector<std::int32_t>& tokens, const Reference& ref) {
  const Layout layout(shape);
  std::vector<float> grads(static_cast<std::size_t>(layout.total()));
  const double loss = cuda::gradients_once(shape, precision, weight_seed, tokens.data(), grads.data());
  bool ok = true;
  double worst_ratio = 0;
  for (std::int64_t k = 0; k < layout.tensors(); ++k) {
    const transformer::TensorRef t = layout.tensor(k);
    double scale = 0, error = 0;
    for (std::int64_t i = t.offset; i < t.offset + t.size(); ++i) {
      const auto u = static_cast<std::size_t>(i);
      scale = std::max(scale, std::fabs(ref.grads[u]));
      const double e = std::fabs(static_cast<double>(grads[u]) - ref.grads[u]);
      error = std::isnan(e) ? INFINITY : std::max(error, e);
    }
    if (scale > 0) worst_ratio = std::max(worst_ratio, error / scale);
    if (!(error <= tolerance * scale)) {
      std::printf("%s: %s (layer %lld): largest error %.3g > %.3g x largest gradient %.3g\n", name,
                  tensor_names[static_cast<int>(t.tensor)], static_cast<long long>(t.layer), error, tolerance, scale);
      ok = false;
    }
  }
  if (!(std::fabs(loss - ref.loss) <= tolerance * ref.loss)) {
    std::printf("%s: loss %.6f, host %.6f\n", name, loss, ref.loss);
    ok = false;
  }
  std::printf("%s: %s; loss %.6f (host %.6f); largest error / tensor scale %.3g (bound %.3g)\n", name, ok ? "ok" : "FAILED",
              loss, ref.loss, worst_ratio, tolerance);
  return ok;
}

}  // namespace

int main() {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("no GPU on this machine: skipped\n");
    return skip;
  }
  try {
    // hidden, heads, seq, micro_batch, layers, vocab: two sequences so that tokens and
    // positions repeat, every dimension a multiple of 8.
    const Shape shape{64, 4, 32, 2, 2, 96};
    std::vector<std::int32_t> tokens(static_cast<std::size_t>(host::token_count(shape)));
    host::synthetic_tokens(shape, token_seed, tokens.data());
    const Reference ref = host_reference(shape, tokens);
    bool ok = check("fp32", cuda::Precision::fp32, 1e-3, shape, tokens, ref);
    ok = check("bf16", cuda::Precision::bf16, 5e-2, shape, tokens, ref) && ok;
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
}
