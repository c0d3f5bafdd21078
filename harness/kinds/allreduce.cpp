// allreduce: sum across the ranks of a scope over a size sweep.
// algbw = bytes / time; busbw = algbw * 2(n-1)/n (nccl-tests' convention, doc/PERFORMANCE.md):
// the traffic each link carries in a ring, so figures compare across rank counts.
#include "rackqual/api/kind.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"
#include "kernels/common/collective.hpp"

namespace rackqual {
namespace {

class Allreduce : public Kind {
 public:
  std::string name() const override { return "allreduce"; }
  std::string help() const override { return "sum all-reduce across the ranks of the scope; values checked after an untimed pass"; }
  std::vector<ParamSpec> params() const override {
    return {{"sizes", ParamType::bytes_list, "1MiB,64MiB", "message sizes per rank, one measurement each", {}, 8},
            {"dtype", ParamType::choice, "fp32", "element type (host: fp32, fp64)", {"fp64", "fp32", "bf16", "fp16"}, 1},
            {"in_place", ParamType::choice, "false", "reduce in the input buffer", {"false", "true"}, 1}};
  }
  std::vector<MetricSpec> metrics() const override {
    return {{"time_us", "us", Better::lower, "time per all-reduce, slowest rank"},
            {"time_p95_us", "us", Better::lower, "95th percentile of time_us over the repetitions", "", "", "time_us", 0.95},
            {"algbw_gbps", "GB/s", Better::higher, "bytes / time"},
            {"busbw_gbps", "GB/s", Better::higher, "algbw * 2(n-1)/n"}};
  }
  std::vector<Scope> scopes() const override { return {Scope::node, Scope::nvlink_domain, Scope::rack, Scope::cluster}; }
  int min_ranks() const override { return 2; }
  std::any decode(const Params& p) const override { return AllreduceParams::from(p); }
  std::string sweep_param() const override { return "sizes"; }
  std::map<std::string, double> derive(const Params& p, const Sample& s, int ranks) const override {
    const double algbw = static_cast<double>(p.typed<AllreduceParams>().bytes) / s.seconds / 1e9;
    return {{"time_us", s.seconds * 1e6}, {"algbw_gbps", algbw}, {"busbw_gbps", algbw * collective::allreduce_bus_factor(ranks)}};
  }
  // A send and a receive buffer of the point's size (in place: the send buffer alone).
  std::optional<MemoryNeed> memory(const Params& p) const override {
    const auto& a = p.typed<AllreduceParams>();
    return MemoryNeed{static_cast<double>(a.bytes) * (a.in_place ? 1 : 2), "sizes"};
  }
  std::string peak_key(const std::string& metric, const Params&) const override {
    return metric == "busbw_gbps" ? "busbw_gbps" : "";
  }
};

}  // namespace
RACKQUAL_REGISTER_KIND(Allreduce);
}  // namespace rackqual
