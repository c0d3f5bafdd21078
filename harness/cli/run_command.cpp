// `rackqual run`: a suite's checks run under mpiexec or srun, records written.
#include "run_command.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <tuple>
#include <utility>

#include "commands.hpp"
#include "rackqual/api/backend.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/base/name.hpp"
#include "rackqual/base/version.hpp"
#include "rackqual/input/fault.hpp"
#include "rackqual/input/inventory.hpp"
#include "rackqual/plan/memory_fit.hpp"
#include "rackqual/plan/prepared_suite.hpp"
#include "rackqual/run/backend_choice.hpp"
#include "rackqual/run/slowdown.hpp"
#include "rackqual/world/world.hpp"

namespace rackqual {
namespace {

// The options run and qualify share, checked and read into the run's options before anything
// starts. Throws FieldError (and InputError for a fault).
void check_run_options(RunArgs& args) {
  RunOptions& options = args.options;
  if (!options.run_id.empty())
    if (const auto problem = name_problem(options.run_id)) throw FieldError("--run-id", *problem);
  for (const auto& f : args.faults) options.faults.push_back(parse_fault(f));
  check_output_file("--junit", options.junit);
  check_output_file("--prometheus", options.prometheus);
  if (!options.prometheus.empty() && !options.prometheus.ends_with(".prom"))
    say("rackqual: --prometheus: " + options.prometheus +
        " does not end in .prom; node_exporter's textfile collector reads only *.prom files");
  for (const auto& h : args.slow_hosts) options.slowdowns.hosts.push_back(parse_slow_host(h));
  for (const auto& l : args.slow_links) options.slowdowns.links.push_back(parse_slow_link(l));
  if (!args.simulate.empty()) {   // simulated hosts share one machine: the host backend
    args.topology.simulation = parse_simulation(args.simulate);
    if (args.backend == "cuda") throw FieldError("--simulate", "simulated hosts run the host backend, not cuda");
    args.backend = "host";
  }
}

// What this rank runs with once set up.
struct SetUp {
  std::unique_ptr<Backend> backend;
  PreparedSuite prepared;
};

// Set-up and input on this rank: placement, the backend, the suite prepared for its device and
// its fit in memory. Throws InputError, SetupError.
SetUp set_up(World& world, RunArgs& args) {
  SetUp s;
  world.place(args.topology);
  BackendChoice choice = choose_backend(world, args.backend);
  s.backend = std::move(choice.backend);
  args.options.backend_choice = choice.how;
  s.prepared = prepare_suite(args.suite_path, s.backend->name(), s.backend->device(world.placement().local_rank).name, args.only);
  // Simulated hosts all share this machine's memory.
  check_memory(s.prepared, s.backend->device(world.placement().local_rank),
               args.topology.simulation ? world.size() : world.placement().local_size);
  return s;
}

// To qualify: the checks in ladder order, a stage per rung. Rank 0 holds the inventory the
// verdicts count against; every rank knows the ladder.
void climb_ladder(World& world, RunArgs& args, const QualifyTarget& target, bool stop_at_failed_rung,
                  PreparedSuite& prepared) {
  RunOptions& options = args.options;
  if (world.rank() == 0) {
    auto inventory = std::make_shared<Inventory>(load_inventory(args.topology.inventory));
    check_target(target, *inventory, world.placements());
    options.verdicts = [inventory, target](const Record& base, const std::vector<Placement>& placements,
                                           const std::vector<Record>& records) {
      return qualify_verdicts(base, target, *inventory, placements, records);
    };
  }
  prepared.plans = ladder(std::move(prepared.plans));
  for (const auto& plan : prepared.plans) options.stages.push_back(static_cast<int>(rung_of(plan.check->scope)));
  options.stop_at_failed_stage = stop_at_failed_rung;
}

// Whether any rank met a problem in set-up; rank 0 says the first (with its rank, where not its own).
bool any_problem(World& world, const std::string& problem) {
  const auto problems = world.gather(problem);
  if (!world.max(problem.empty() ? 0 : 1)) return false;
  for (std::size_t r = 0; r < problems.size(); ++r) {
    if (problems[r].empty()) continue;
    std::fprintf(stderr, "%s%s\n", r == 0 ? "" : ("rank " + std::to_string(r) + ": ").c_str(), problems[r].c_str());
    break;
  }
  return true;
}

// Runs the checks on every rank set up; an error now ends every rank (exit 3).
int run_checks(World& world, SetUp& s, RunOptions options) {
  const Suite& suite = *s.prepared.suite;
  const Platform& platform = s.prepared.platform;
  Backend& backend = *s.backend;
  try {
    world.take_nvlink_domains(backend.nvlink_domain(world.placement().local_rank));
    if (world.rank() == 0 && options.backend_choice.rfind("backend auto: no rank", 0) == 0)
      std::fprintf(stderr, "rackqual: %s\n", options.backend_choice.c_str());
    if (world.rank() == 0)
      std::fprintf(stderr, "rackqual %s: suite %s, backend %s, platform %s, %d ranks on %zu hosts\n", version,
                   suite.name.c_str(), backend.name().c_str(), platform.name.c_str(), world.size(), world.hosts().size());
    Runner runner(world, backend, suite, platform, std::move(s.prepared.plans), std::move(options));
    return runner.run();
  } catch (const std::exception& e) {
    // Other ranks may wait in a collective for this one: end them all, records stay on disk.
    std::fprintf(stderr, "rackqual: rank %d: error: %s\n", world.rank(), e.what());
    world.abort(exit_run_error);
  }
  return exit_run_error;   // not reached: abort ends the process
}

// The suite run under MPI: set up on every rank, then its checks.
int run_under_mpi(int argc, char** argv, RunArgs args, const std::optional<QualifyTarget>& target, bool stop_at_failed_rung) {
  const std::unique_ptr<World> started = start_mpi_world(&argc, &argv);
  World& world = *started;
  // Set-up and input: every rank must succeed before any starts, or the others would wait
  // for it in the first collective. Rank 0 reports the first problem; all exit 2.
  SetUp s;
  std::string problem;
  try {
    s = set_up(world, args);
    if (target) climb_ladder(world, args, *target, stop_at_failed_rung, s.prepared);
  } catch (const InputError& e) {
    problem = e.what();
  } catch (const std::exception& e) {
    problem = std::string("rackqual: ") + e.what();
  }
  if (any_problem(world, problem)) return exit_bad_input;
  return run_checks(world, s, std::move(args.options));
}

// `rackqual run SUITE`.
class RunCommand : public Command {
 public:
  explicit RunCommand(CLI::App& app) {
    cli = app.add_subcommand("run", "Run a suite's checks and write records (launch under mpiexec or srun)");
    cli->add_option("suite", args_.suite_path, "Suite YAML file")->required();
    add_run_options(*cli, args_);
    auto* inventory_opt = cli->add_option("--inventory", args_.topology.inventory,
                                          "Inventory YAML: racks, their hosts, GPUs per host, NVLink domains, leaf switches");
    cli->add_option("--simulate", args_.simulate,
                    "Place ranks on simulated racks and hosts, RACKSxHOSTSxGPUS (e.g. 2x2x2 for 8 ranks), on the host backend")
        ->excludes(inventory_opt);
  }
  int run(int argc, char** argv) override { return run_suite(argc, argv, std::move(args_)); }

 private:
  RunArgs args_;
};

}  // namespace

void add_run_options(CLI::App& cmd, RunArgs& args) {
  RunOptions& options = args.options;
  cmd.add_option("--backend", args.backend, "Where kinds run: auto (cuda if a GPU is present, else host), host, cuda")
      ->check(CLI::IsMember({"auto", "host", "cuda"}));
  cmd.add_option("--out", options.out_dir, "Results folder; each run writes OUT/RUN_ID/{records.jsonl,manifest.json}")
      ->capture_default_str();
  cmd.add_option("--run-id", options.run_id,
                 "Name of the run folder, made new under OUT (default: the UTC time and a random suffix)");
  cmd.add_option("--only", args.only, "Run only this check id (repeatable)");
  cmd.add_option("--fault", args.faults,
                 "Inject a fault for tests and chaos drills: CHECK:RANK:MODE, MODE = wrong (corrupt a result), "
                 "corrupt (flip one bit of the output a consensus vote hashes), error (fail to prepare), hang (never "
                 "arrive), late[=DURATION] (reach every timed sample late, default 2ms) or sample_error (fail inside the "
                 "first timed sample)");
  cmd.add_option("--slow-host", args.slow_hosts,
                 "Chaos drill: HOST=FACTOR makes every operation on HOST's ranks take FACTOR times as long");
  cmd.add_option("--slow-link", args.slow_links,
                 "Chaos drill: HOST_A,HOST_B=FACTOR makes operations whose group spans both hosts take FACTOR "
                 "times as long on their ranks");
  cmd.add_flag("--no-isolate", [&options](std::int64_t) { options.isolate = false; },
               "Do not isolate the culprit when a collective group misses its criterion");
  cmd.add_option("--benchmark-json", options.benchmark_json,
                 "Also write Google Benchmark's JSON of the run here (it is always written beside the records)");
  cmd.add_option("--junit", options.junit,
                 "Also write JUnit XML for CI dashboards here when the run ends: a testsuite per check, a testcase "
                 "per GPU or group and point");
  cmd.add_option("--prometheus", options.prometheus,
                 "Also write a textfile for node_exporter's textfile collector here (PATH.prom) when the run ends: "
                 "figures, thresholds, verdicts, run time and exit code; replaced atomically");
}

int run_suite(int argc, char** argv, RunArgs args, const std::optional<QualifyTarget>& target, bool stop_at_failed_rung) {
  check_run_options(args);
  std::string command_line;
  for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
  args.options.command_line = command_line;
  int bench_argc = 1;
  char* bench_argv[] = {argv[0], nullptr};
  benchmark::Initialize(&bench_argc, bench_argv);
  return run_under_mpi(argc, argv, std::move(args), target, stop_at_failed_rung);
}

std::unique_ptr<Command> add_run_command(CLI::App& app) { return std::make_unique<RunCommand>(app); }

}  // namespace rackqual
