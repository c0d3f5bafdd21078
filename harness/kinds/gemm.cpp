// gemm: dense matrix multiply C = A·B at m, n, k; TFLOP/s = 2mnk / time.
#include "kernels/common/matmul.hpp"
#include "rackqual/api/kind.hpp"
#include "rackqual/api/kind_params.hpp"

namespace rackqual {
namespace {

class Gemm : public Kind {
 public:
  std::string name() const override { return "gemm"; }
  std::string help() const override { return "dense matrix multiply C = A*B on random inputs; outputs sampled against a reference"; }
  std::vector<ParamSpec> params() const override {
    return {{"m", ParamType::integer, "4096", "rows of A and C", {}, 1},
            {"n", ParamType::integer, "4096", "columns of B and C", {}, 1},
            {"k", ParamType::integer, "4096", "columns of A, rows of B", {}, 1},
            {"dtype", ParamType::choice, "fp32", "element type (host: fp32, fp64)",
             {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8"}, 1},
            {"consensus", ParamType::choice, "false",
             "every rank multiplies the same inputs; C's hash is voted on across the devices of one model", {"false", "true"}, 1}};
  }
  std::vector<MetricSpec> metrics() const override {
    return {{"tflops", "TFLOP/s", Better::higher, "2mnk / time per multiply"},
            {"tflops_per_watt", "TFLOP/s/W", Better::higher, "TFLOP/s / average device power (where the backend reads it)", "",
             "tflops"}};
  }
  std::vector<Scope> scopes() const override { return {Scope::gpu}; }
  std::any decode(const Params& p) const override { return GemmParams::from(p); }
  std::map<std::string, double> derive(const Params& p, const Sample& s, int) const override {
    const auto& g = p.typed<GemmParams>();
    const double flops = 2.0 * static_cast<double>(g.m) * static_cast<double>(g.n) * static_cast<double>(g.k);
    return {{"tflops", flops / s.seconds / 1e12}};
  }
  // A, B (the input type) and C (fp8 writes bf16), and the 32 MiB of scratch cuBLASLt may use;
  // named by the largest of m, n and k.
  std::optional<MemoryNeed> memory(const Params& p) const override {
    const auto& g = p.typed<GemmParams>();
    const double m = static_cast<double>(g.m), n = static_cast<double>(g.n), k = static_cast<double>(g.k);
    const double in = traits(g.dtype).bytes, out = g.dtype == DType::fp8 ? 2 : in;
    const std::string largest = g.m >= g.n && g.m >= g.k ? "m" : g.n >= g.k ? "n" : "k";
    return MemoryNeed{(m * k + k * n) * in + m * n * out + static_cast<double>(cublaslt_workspace_bytes), largest};
  }
  std::string peak_key(const std::string& metric, const Params& p) const override {
    return metric == "tflops" ? "tflops_" + std::string(to_string(p.typed<GemmParams>().dtype)) : "";
  }
};

}  // namespace
RACKQUAL_REGISTER_KIND(Gemm);
}  // namespace rackqual
