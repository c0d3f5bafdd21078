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
#include "kernels/cuda/transformer_primitives.hpp"
#include "kernels/host/transformer_primitives.hpp"
#include "kernels/model/model.hpp"
#include "kernels/model/tokens.hpp"
#include "kernels/model/transfer.hpp"

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

// One forward and backward pass of `model` on `tokens`: the loss and every gradient.
Reference gradients_once(model::Primitives& primitives, model::Model& model, const std::vector<std::int32_t>& tokens) {
  model.set_tokens(tokens);
  model.forward();
  model.backward();
  const double loss = model.loss();
  return {loss, model::read_values(primitives, model.gradients())};
}

// The host model in double on the fp32 initial weights the device starts from.
Reference host_reference(const Shape& shape, const std::vector<std::int32_t>& tokens) {
  host::TransformerPrimitives primitives;
  model::Model model(primitives, shape, {DType::fp64, DType::fp64, DType::fp64});
  model.initialise(weight_seed);
  std::vector<double> w = model::read_values(primitives, model.weights());
  for (double& x : w) x = static_cast<float>(x);
  model.load_weights(w);
  return gradients_once(primitives, model, tokens);
}

// Compares the device's gradients in one precision with the reference; prints every tensor
// that fails and one summary line. Returns whether all passed.
bool check(const char* name, DType compute, double tolerance, const Shape& shape,
           const std::vector<std::int32_t>& tokens, const Reference& ref) {
  const Layout layout(shape);
  const auto primitives = cuda::TransformerPrimitives::standalone();
  model::Model device(*primitives, shape, {DType::fp32, compute, DType::fp32});
  device.initialise(weight_seed);
  const Reference got = gradients_once(*primitives, device, tokens);
  const double loss = got.loss;
  const std::vector<double>& grads = got.grads;
  bool ok = true;
  double worst_ratio = 0;
  for (std::int64_t k = 0; k < layout.tensors(); ++k) {
    const transformer::TensorRef t = layout.tensor(k);
    double scale = 0, error = 0;
    for (std::int64_t i = t.offset; i < t.offset + t.size(); ++i) {
      const auto u = static_cast<std::size_t>(i);
      scale = std::max(scale, std::fabs(ref.grads[u]));
      const double e = std::fabs(grads[u] - ref.grads[u]);
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
    const std::vector<std::int32_t> tokens = model::synthetic_tokens(shape, token_seed);
    const Reference ref = host_reference(shape, tokens);
    bool ok = check("fp32", DType::fp32, 1e-3, shape, tokens, ref);
    ok = check("bf16", DType::bf16, 5e-2, shape, tokens, ref) && ok;
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("error: %s\n", e.what());
    return 1;
  }
}
