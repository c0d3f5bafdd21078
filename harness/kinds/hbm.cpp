// hbm: device (or host) memory bandwidth with STREAM-style kernels.
// GB/s counts bytes read plus bytes written per pass (SI: 1 GB/s = 1e9 B/s).
#include "rackqual/api/kind.hpp"
#include "rackqual/api/kind_params.hpp"
#include "rackqual/base/error.hpp"
#include "kernels/common/stream.hpp"

namespace rackqual {
namespace {

class Hbm : public Kind {
 public:
  std::string name() const override { return "hbm"; }
  std::string help() const override { return "memory bandwidth: read, write, copy, scale, add, triad over arrays far larger than cache"; }
  std::vector<ParamSpec> params() const override {
    return {{"op", ParamType::choice, "triad", "kernel: read, write, copy (c=a), scale (b=q*c), add (c=a+b), triad (a=b+q*c)",
             {"read", "write", "copy", "scale", "add", "triad"}, 1},
            {"bytes", ParamType::bytes, "1GiB", "size of each array (the arrays together: at least 8x the L2 cache on GPUs)", {}, 4096}};
  }
  std::vector<MetricSpec> metrics() const override {
    return {{"gbps", "GB/s", Better::higher, "(bytes read + bytes written) / time per pass"},
            {"gbps_per_watt", "GB/s/W", Better::higher, "GB/s / average device power (where the backend reads it)", "", "gbps"}};
  }
  std::vector<Scope> scopes() const override { return {Scope::gpu}; }
  std::any decode(const Params& p) const override { return HbmParams::from(p); }
  std::map<std::string, double> derive(const Params& p, const Sample& s, int) const override {
    const auto& h = p.typed<HbmParams>();
    const double moved = stream::arrays_moved(stream::parse_op(h.op)) * static_cast<double>(h.bytes);
    return {{"gbps", moved / s.seconds / 1e9}};
  }
  // Three arrays of `bytes` (a, b, c), whichever of them the op touches.
  std::optional<MemoryNeed> memory(const Params& p) const override {
    return MemoryNeed{3.0 * static_cast<double>(p.typed<HbmParams>().bytes), "bytes"};
  }
  std::string peak_key(const std::string& metric, const Params&) const override {
    return metric == "gbps" ? "memory_gbps" : "";
  }
};

}  // namespace
RACKQUAL_REGISTER_KIND(Hbm);
}  // namespace rackqual
