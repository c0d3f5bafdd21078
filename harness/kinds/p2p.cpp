// p2p: point-to-point bandwidth between neighbours. The ranks of a scope form a ring; one
// launch is two shifts: every rank sends `bytes` to its right neighbour while it receives
// `bytes` from its left, then the reverse. Each shift is nccl-tests' sendrecv pattern; with two
// ranks each one is a bidirectional exchange over the pair's link. Every rank therefore sends
// 2 x bytes and receives as much per launch, whatever the rank count:
//   bandwidth_gbps     = 2 x bytes / time   what a rank sends (and, at once, receives) per second
//   bidirectional_gbps = 4 x bytes / time   sent and received together
// The group's figure is its slowest rank's: a slow host slows every ring it is in, a slow link
// only the pair (or ring) that crosses it.
#include "rackqual/api/kind.hpp"
#include "rackqual/api/kind_params.hpp"

namespace rackqual {
namespace {

class P2p : public Kind {
 public:
  std::string name() const override { return "p2p"; }
  std::string help() const override {
    return "send/receive between ring neighbours, both directions; every byte checked after an untimed pass";
  }
  std::vector<ParamSpec> params() const override {
    return {{"sizes", ParamType::bytes_list, "1MiB,64MiB", "bytes sent to each neighbour, one measurement each", {}, 1}};
  }
  std::vector<MetricSpec> metrics() const override {
    return {{"time_us", "us", Better::lower, "time per launch (both directions), slowest rank"},
            {"time_p95_us", "us", Better::lower, "95th percentile of time_us over the repetitions", "", "", "time_us", 0.95},
            {"bandwidth_gbps", "GB/s", Better::higher, "2 x bytes / time: what each rank sends while receiving as much"},
            {"bidirectional_gbps", "GB/s", Better::higher, "4 x bytes / time: sent and received together"}};
  }
  std::vector<Scope> scopes() const override { return {Scope::node, Scope::nvlink_domain, Scope::rack, Scope::cluster}; }
  int min_ranks() const override { return 2; }
  std::any decode(const Params& p) const override { return P2pParams::from(p); }
  std::string sweep_param() const override { return "sizes"; }
  std::map<std::string, double> derive(const Params& p, const Sample& s, int) const override {
    const double sent = 2.0 * static_cast<double>(p.typed<P2pParams>().bytes);   // per rank and launch
    return {{"time_us", s.seconds * 1e6}, {"bandwidth_gbps", sent / s.seconds / 1e9},
            {"bidirectional_gbps", 2 * sent / s.seconds / 1e9}};
  }
  // What is sent and what arrives from each neighbour: three buffers of the point's size.
  std::optional<MemoryNeed> memory(const Params& p) const override {
    return MemoryNeed{3.0 * static_cast<double>(p.typed<P2pParams>().bytes), "sizes"};
  }
  // No platform figure: a neighbour may sit across NVLink or across the network.
  std::string peak_key(const std::string&, const Params&) const override { return ""; }
};

}  // namespace
RACKQUAL_REGISTER_KIND(P2p);
}  // namespace rackqual
