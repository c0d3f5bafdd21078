// `rackqual health`: the node's fast health check (health.cpp), its options from the command line.
#include <memory>
#include <utility>

#include "commands.hpp"
#include "health.hpp"
#include "rackqual/input/fault.hpp"
#include "rackqual/input/platform.hpp"

namespace rackqual {
namespace {

class HealthCommand : public Command {
 public:
  explicit HealthCommand(CLI::App& app) {
    cli = app.add_subcommand(
        "health", "Check this node's health quickly (Slurm HealthCheckProgram or prolog): exit 0 healthy, 1 unhealthy, "
                  "2 could not assess, 3 a check errored; runs its own ranks, one per GPU (do not launch under mpiexec)");
    options_.suite = installed_suite("health.yaml");
    cli->add_option("--suite", options_.suite, "The health suite")->capture_default_str();
    cli->add_option("--backend", options_.backend, "auto (cuda where a GPU is visible, else host), host, cuda")
        ->check(CLI::IsMember({"auto", "host", "cuda"}));
    cli->add_option("--ranks", options_.ranks, "Ranks to run (default: one per GPU; 2 on the host backend)")
        ->check(CLI::Range(1, 1024));
    cli->add_option("--out", options_.out, "Keep the records in OUT/RUN_ID (default: a temporary folder, removed)");
    cli->add_option("--node", options_.node, "The node's name in Slurm (default: SLURMD_NODENAME, else the host name)");
    cli->add_flag("--drain", options_.drain,
                  "Drain the node through scontrol when unhealthy, with the failing check and figure as the reason; "
                  "resume it when healthy if this command drained it. Never drains when the node could not be assessed");
    cli->add_option("--timeout", options_.timeout_s, "Seconds the whole check may take; past them, exit 3")
        ->capture_default_str()->check(CLI::PositiveNumber);
    cli->add_option("--fault", faults_, "Inject a fault, as for run (tests and chaos drills)");
    cli->add_option("--junit", junit_, "Also write JUnit XML here, as run does");
    cli->add_option("--prometheus", prometheus_,
                    "Also write a Prometheus textfile here (node_exporter's textfile collector), as run does");
  }
  int run(int, char**) override {
    for (const auto& f : faults_) {
      parse_fault(f);   // refused here, with the option's name, rather than by the run
      options_.run_args.insert(options_.run_args.end(), {"--fault", f});
    }
    for (const auto& [option, path] : {std::pair{"--junit", junit_}, {"--prometheus", prometheus_}}) {
      check_output_file(option, path);
      if (!path.empty()) options_.run_args.insert(options_.run_args.end(), {option, path});
    }
    return health(options_);
  }

 private:
  HealthOptions options_;
  std::vector<std::string> faults_;
  std::string junit_, prometheus_;
};

}  // namespace

std::unique_ptr<Command> add_health_command(CLI::App& app) { return std::make_unique<HealthCommand>(app); }

}  // namespace rackqual
