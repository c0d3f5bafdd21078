// transformer_step: one data-parallel training step of a GPT-style decoder: forward, loss,
// backward, gradient all-reduce across the scope's ranks, AdamW. What a cluster exists for.
#include "kernels/common/transformer.hpp"
#include "kernels/common/transformer_math.hpp"
#include "rackqual/api/kind.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

transformer::Shape shape_of(const Params& point) {
  const auto& p = point.typed<TransformerParams>();
  return {p.hidden, p.heads, p.seq, p.micro_batch, p.layers, p.vocab};
}

class TransformerStep : public Kind {
 public:
  std::string name() const override { return "transformer_step"; }
  std::string help() const override {
    return "training step of a GPT-style decoder (layernorm, causal attention, GELU MLP) with data-parallel gradient all-reduce and AdamW";
  }
  std::vector<ParamSpec> params() const override {
    return {{"hidden", ParamType::integer, "1024", "model width", {}, 1},
            {"heads", ParamType::integer, "16", "attention heads (must divide hidden)", {}, 1},
            {"seq", ParamType::integer, "512", "sequence length", {}, 1},
            {"micro_batch", ParamType::integer, "1", "sequences per rank per step", {}, 1},
            {"layers", ParamType::integer, "2", "decoder layers", {}, 1},
            {"vocab", ParamType::integer, "8192", "vocabulary size (synthetic tokens)", {}, 2},
            {"dtype", ParamType::choice, "fp32", "compute type (host: fp32; cuda: bf16 with fp32 master weights)",
             {"fp32", "bf16"}, 1},
            {"grad_dtype", ParamType::choice, "fp32", "type of the gradient all-reduce (host: fp32; cuda: fp32, bf16)",
             {"fp32", "bf16"}, 1},
            {"consensus", ParamType::choice, "false",
             "every rank trains on the same micro-batch; the hash of its own gradients, before any exchange, is voted on "
             "across the devices of one model",
             {"false", "true"}, 1}};
  }
  std::vector<MetricSpec> metrics() const override {
    return {{"step_time_s", "s", Better::lower, "median time of one training step, slowest rank"},
            {"tokens_per_s", "tokens/s", Better::higher, "micro_batch * seq * ranks / step time"},
            {"model_tflops", "TFLOP/s", Better::higher, "model FLOPs per step per rank / step time"},
            {"mfu", "fraction", Better::higher, "model TFLOP/s / platform peak TFLOP/s", "model_tflops"},
            {"forward_s", "s", Better::lower, "forward pass and loss"},
            {"backward_s", "s", Better::lower, "backward pass (less what overlaps the all-reduce)"},
            {"allreduce_s", "s", Better::lower, "gradient all-reduce not hidden behind the backward pass"},
            {"optimizer_s", "s", Better::lower, "AdamW update"}};
  }
  std::vector<Scope> scopes() const override {
    return {Scope::node, Scope::gpu, Scope::nvlink_domain, Scope::rack, Scope::cluster};
  }
  std::any decode(const Params& p) const override { return TransformerParams::from(p); }
  std::map<std::string, double> derive(const Params& p, const Sample& s, int ranks) const override {
    const auto shape = shape_of(p);
    std::map<std::string, double> m = {
        {"step_time_s", s.seconds},
        {"tokens_per_s", static_cast<double>(shape.tokens()) * ranks / s.seconds},
        {"model_tflops", transformer::flops_per_step(shape) / s.seconds / 1e12}};
    for (const char* phase : {"forward", "backward", "allreduce", "optimizer"}) {
      auto it = s.phases.find(phase);
      if (it != s.phases.end()) m[std::string(phase) + "_s"] = it->second;
    }
    return m;
  }
  // A step on each rank: its model FLOPs, its memory traffic (an estimate), and every
  // parameter's gradient all-reduced in grad_dtype when the group has more than one rank.
  std::map<std::string, double> work(const Params& p, int ranks) const override {
    const auto shape = shape_of(p);
    const auto& typed = p.typed<TransformerParams>();
    const double parameters = static_cast<double>(transformer::Layout(shape).total());
    return {{"flops", transformer::flops_per_step(shape)},
            {"parameters", parameters},
            {"memory_bytes", transformer::memory_bytes_per_step(shape, parameters, traits(typed.dtype).bytes)},
            {"allreduce_bytes", ranks > 1 ? parameters * traits(typed.grad_dtype).bytes : 0.0}};
  }
  // What the model holds (transformer::resident_bytes), named by the parameter behind most of
  // it: hidden where the weights and their optimizer state dominate, else seq (activations).
  std::optional<MemoryNeed> memory(const Params& p) const override {
    const auto shape = shape_of(p);
    const auto& typed = p.typed<TransformerParams>();
    const double total = transformer::resident_bytes(shape, traits(typed.dtype).bytes, traits(typed.grad_dtype).bytes);
    const double weights = transformer::resident_bytes({shape.hidden, shape.heads, 1, 1, shape.layers, shape.vocab},
                                                       traits(typed.dtype).bytes, traits(typed.grad_dtype).bytes);
    return MemoryNeed{total, weights >= total / 2 ? "hidden" : "seq"};
  }
  std::string peak_key(const std::string& metric, const Params& p) const override {
    return metric == "model_tflops" ? "tflops_" + std::string(to_string(p.typed<TransformerParams>().dtype)) : "";
  }
};

}  // namespace
RACKQUAL_REGISTER_KIND(TransformerStep);
}  // namespace rackqual
