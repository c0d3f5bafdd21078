#pragma once
// One all-reduce over all ranks of the cluster, the suite the isolation tests slow a host under:
// a healthy 64 KiB launch takes well under a millisecond, a slowed one far over three, so the
// slowed host misses the criterion and isolation probes subsets of the hosts until it names it.
namespace rackqual::test {

inline const char* const cluster_reduce = R"(name: isolate
platform: host
defaults: {repetitions: 3, min_time: 0.01s, deadline: 60s}
checks:
  - id: reduce
    kind: allreduce
    scope: cluster
    params: {sizes: [64KiB]}
    criteria:
      time_us: {max: 3000}
)";

}  // namespace rackqual::test
