#pragma once
// `rackqual health`: a node's fast health check, for Slurm's HealthCheckProgram and prolog.
// Runs a short suite over the node's GPUs (a local mpiexec, one rank per GPU), then answers
// with the uniform exit codes: 0 healthy, 1 unhealthy, 2 could not assess (bad input, set-up),
// 3 a check errored or hung. With --drain an unhealthy node is drained through scontrol with
// the failing check and figure as the reason, and a node this command drained before is
// resumed once healthy; nothing is drained on 2 or 3.
#include <string>
#include <vector>

namespace rackqual {

struct HealthOptions {
  std::string suite;                  // the health suite (default: the installed health.yaml)
  std::string backend = "auto";       // auto, host, cuda
  int ranks = 0;                      // 0: one per GPU on cuda, 2 on the host backend
  std::string out;                    // keep records here (OUT/RUN_ID); empty: a temporary folder
  std::string node;                   // Slurm's node name; default SLURMD_NODENAME, else the host name
  bool drain = false;
  double timeout_s = 300;             // the whole check, start-up included; past it: exit 3
  std::vector<std::string> run_args;  // passed on to `rackqual run` (--fault, --junit, --prometheus)
};

int health(const HealthOptions& options);

}  // namespace rackqual
