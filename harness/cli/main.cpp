// rackqual: qualify GPU clusters. run a suite, list kinds, check a suite.
#include <benchmark/benchmark.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <tuple>

#include "rackqual/api/backend.hpp"
#include "rackqual/api/kind.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/base/name.hpp"
#include "rackqual/base/text.hpp"
#include "rackqual/base/version.hpp"
#include "rackqual/input/platform.hpp"
#include "rackqual/input/suite.hpp"
#include "rackqual/judge/qualify.hpp"
#include "rackqual/judge/rejudge.hpp"
#include "rackqual/plan/memory_fit.hpp"
#include "rackqual/plan/plan.hpp"
#include "rackqual/plan/prepared_suite.hpp"
#include "rackqual/records/summary.hpp"
#include "rackqual/run/runner.hpp"
#include "rackqual/world/world.hpp"
#include "health.hpp"

namespace {

using namespace rackqual;

// Under mpiexec or srun only the first rank speaks; every rank exits with the same code.
bool first_rank() {
  for (const char* name : {"PMI_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(name)) return std::atoi(v) == 0;
  return true;
}

void say(const std::string& line) {
  if (first_rank()) std::fprintf(stderr, "%s\n", line.c_str());
}

// An output file the run writes when it ends: its folder must exist before the run starts.
void check_output_file(const std::string& option, const std::string& path) {
  if (path.empty()) return;
  const std::filesystem::path file(path);
  const std::filesystem::path folder = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(folder)) throw FieldError(option, "folder " + folder.string() + " does not exist");
  if (std::filesystem::is_directory(file)) throw FieldError(option, path + " is a folder, not a file");
}

// The profiles of GPUs (those that name devices), by name.
std::vector<std::string> gpu_profiles(const std::string& suite_path) {
  std::set<std::string> names;
  for (const auto& dir : platform_dirs(suite_path)) {
    if (!std::filesystem::is_directory(dir)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.path().extension() == ".yaml" && !load_platform(entry.path().string()).devices.empty())
        names.insert(entry.path().stem().string());
  }
  return {names.begin(), names.end()};
}

// `rackqual check`: a suite validated for a backend and platform without running anything,
// on any machine (a login node without a GPU checks a GPU suite). Backend auto: host when it
// runs every check, else cuda. Platform: --platform, else the suite's; for auto on cuda the
// profile of --device, or else every GPU profile in turn. Throws InputError.
void check_suite(const std::string& suite_path, std::string backend, const std::string& platform_name,
                 const std::string& device_name) {
  Suite suite = load_suite(suite_path);
  if (backend == "auto") {
    backend = "host";
    try {
      check_support(suite, "host");
    } catch (const InputError& on_host) {
      if (!BackendRegistry::instance().has("cuda")) throw;
      backend = "cuda";
      check_support(suite, "cuda");
    }
  }
  check_support(suite, backend);
  std::vector<std::string> names;
  if (!platform_name.empty()) names = {platform_name};
  else if (suite.platform != "auto" || backend == "host" || !device_name.empty())
    names = {resolve_platform(suite, backend, device_name, platform_dirs(suite_path))};
  else
    names = gpu_profiles(suite_path);
  for (const auto& name : names)
    plan_suite(suite, platform_name.empty() ? platform_profile(suite_path, name, "platform", suite.platform_line)
                                            : platform_profile(suite_path, name, "--platform"));
  std::printf("%s: suite %s is valid: %zu checks, backend %s, platform%s %s\n", suite_path.c_str(), suite.name.c_str(),
              suite.checks.size(), backend.c_str(), names.size() == 1 ? "" : "s",
              join(names, [](const std::string& n) { return n; }).c_str());
}

// `rackqual judge`: records read back and judged again by a suite, written as JSON Lines to
// stdout; the exit code is the worst verdict's, as a run's would be (2 when there is none).
int judge_records(const std::string& records_path, const std::string& suite_path, const std::string& platform_name) {
  const auto records = judge_file(records_path, suite_path, platform_name);
  // No figure judged is no pass: could not assess.
  if (records.empty()) throw InputError(records_path, 1, "records", "holds no records: nothing to judge");
  for (const Record& r : records) std::printf("%s\n", to_json(r).dump().c_str());
  return exit_code(records);
}

// `rackqual ingest`, `compare` and `sweep` are the Python package's (`python -m rackqual ...`):
// this process becomes that one, with the package found where the build put it unless the
// environment says otherwise (RACKQUAL_PYTHON, PYTHONPATH, RACKQUAL_BUILD).
int python_command(const std::string& command, const std::vector<std::string>& args) {
  const char* chosen = std::getenv("RACKQUAL_PYTHON");
  const std::string python = chosen && *chosen ? chosen : RACKQUAL_PYTHON_EXECUTABLE;
  if (!std::getenv("RACKQUAL_BUILD")) setenv("RACKQUAL_BUILD", RACKQUAL_BUILD_DIR, 1);
  const char* path = std::getenv("PYTHONPATH");
  setenv("PYTHONPATH", (std::string(RACKQUAL_PYTHON_DIR) + (path && *path ? std::string(":") + path : "")).c_str(), 1);
  std::vector<std::string> words = {python, "-m", "rackqual", command};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  throw SetupError("rackqual " + command + " runs the Python package, and " + python + " could not be started: " +
                   std::strerror(errno) + " (run scripts/setup.sh, or set RACKQUAL_PYTHON)");
}

void list_kinds() {
  for (const Kind* kind : KindRegistry::instance().all()) {
    std::printf("%s: %s\n  scopes:", kind->name().c_str(), kind->help().c_str());
    for (Scope s : kind->scopes()) std::printf(" %s", std::string(to_string(s)).c_str());
    std::printf("\n  backends:");
    const auto& registry = BackendRegistry::instance();
    for (const auto& b : registry.backends()) {
      if (!registry.op(b, kind->name())) continue;
      std::string accepts;   // what the backend's operation accepts, where it narrows the kind's choices
      for (const auto& [param, values] : *registry.support(b, kind->name()))
        accepts += (accepts.empty() ? "" : "; ") + param + " " + join(values, [](const std::string& v) { return v; }, "|");
      std::printf(" %s%s", b.c_str(), accepts.empty() ? "" : (" (" + accepts + ")").c_str());
    }
    std::printf("\n  params:\n");
    for (const auto& p : kind->params()) {
      std::string type(to_string(p.type));
      if (p.type == ParamType::choice) {
        type.clear();
        for (const auto& c : p.choices) type += (type.empty() ? "" : "|") + c;
      }
      std::printf("    %-10s %-28s default %-12s %s\n", p.name.c_str(), type.c_str(),
                  p.default_value.empty() ? "(required)" : p.default_value.c_str(), p.help.c_str());
    }
    std::printf("  metrics:\n");
    for (const auto& m : kind->metrics())
      std::printf("    %-12s %-8s %-7s %s\n", m.name.c_str(), m.unit.c_str(), std::string(to_string(m.better)).c_str(),
                  m.help.c_str());
  }
}

// The backend every rank uses, and how `auto` chose it (empty when named). "auto" means cuda
// when every rank binds a GPU of its own; host when no rank sees a GPU, said on stderr and in
// the manifest; and where some rank sees a GPU but another cannot bind one, a set-up error
// naming each such rank and why: a GPU suite never runs on CPUs unannounced. One run never
// mixes backends. Throws SetupError.
std::pair<std::unique_ptr<Backend>, std::string> choose_backend(World& world, const std::string& name) {
  const Placement& here = world.placement();
  auto& registry = BackendRegistry::instance();
  if (name != "auto") {
    auto backend = registry.create(name);
    backend->set_up(here.local_rank, here.local_size);
    return {std::move(backend), ""};
  }
  // Each rank: 'b' bound a GPU, 's' sees one but cannot bind it, 'n' sees none; and why.
  std::unique_ptr<Backend> gpu;
  std::string state = "n", why = "the cuda backend is not built in";
  if (registry.has("cuda")) {
    try {
      gpu = registry.create("cuda");
      state = "s";
      gpu->set_up(here.local_rank, here.local_size);
      state = "b";
    } catch (const std::exception& e) {
      why = e.what();
      gpu.reset();
    }
  }
  const auto states = world.gather(state + why);
  std::string decision;   // rank 0's: "cuda", "host\n<note>" or "error\n<message>"
  if (world.rank() == 0) {
    std::string unbound, none;
    bool any_gpu = false, all_bound = true;
    for (std::size_t r = 0; r < states.size(); ++r) {
      const std::string where = "rank " + std::to_string(r) + " (" + world.placements()[r].host + ")";
      any_gpu = any_gpu || states[r][0] != 'n';
      all_bound = all_bound && states[r][0] == 'b';
      if (states[r][0] != 'b') (states[r][0] == 's' ? unbound : none) += (unbound.empty() && none.empty() ? "" : "; ") + where + ": " + states[r].substr(1);
    }
    if (all_bound) decision = "cuda";
    else if (!any_gpu) decision = "host\nbackend auto: no rank sees a GPU (rank 0: " + states[0].substr(1) + "); running on the host backend";
    else decision = "error\nbackend auto: some ranks see a GPU but " + unbound + none + " (launch one rank per GPU, or name --backend host)";
  }
  decision = world.broadcast(decision);
  if (decision == "cuda") return {std::move(gpu), "auto: every rank bound a GPU"};
  gpu.reset();
  const auto newline = decision.find('\n');
  if (decision.substr(0, newline) == "error") throw SetupError(decision.substr(newline + 1));
  auto host = registry.create("host");
  host->set_up(here.local_rank, here.local_size);
  return {std::move(host), decision.substr(newline + 1)};
}

// Runs a suite; with a qualify target, as its ladder, with the rack's verdicts last.
int run(int argc, char** argv, const std::string& suite_path, const std::string& backend_name,
        const std::vector<std::string>& only, RunOptions options, const TopologyOptions& topology,
        const std::optional<QualifyTarget>& target = std::nullopt, bool stop_at_failed_rung = true) {
  const std::unique_ptr<World> started = start_mpi_world(&argc, &argv);
  World& world = *started;
  // Set-up and input: every rank must succeed before any starts, or the others would wait
  // for it in the first collective. Rank 0 reports the first problem; all exit 2.
  std::unique_ptr<Backend> backend;
  PreparedSuite prepared;
  std::string problem;
  try {
    world.place(topology);
    std::tie(backend, options.backend_choice) = choose_backend(world, backend_name);
    prepared = prepare_suite(suite_path, backend->name(), backend->device(world.placement().local_rank).name, only);
    // Simulated hosts all share this machine's memory.
    check_memory(prepared, backend->device(world.placement().local_rank),
                 topology.simulation ? world.size() : world.placement().local_size);
    if (target) {
      // Rank 0 holds the inventory the verdicts count against; every rank knows the ladder.
      if (world.rank() == 0) {
        auto inventory = std::make_shared<Inventory>(load_inventory(topology.inventory));
        check_target(*target, *inventory, world.placements());
        options.verdicts = [inventory, target](const Record& base, const std::vector<Placement>& placements,
                                               const std::vector<Record>& records) {
          return qualify_verdicts(base, *target, *inventory, placements, records);
        };
      }
      prepared.plans = ladder(std::move(prepared.plans));
      for (const auto& plan : prepared.plans) options.stages.push_back(static_cast<int>(rung_of(plan.check->scope)));
      options.stop_at_failed_stage = stop_at_failed_rung;
    }
  } catch (const InputError& e) {
    problem = e.what();
  } catch (const std::exception& e) {
    problem = std::string("rackqual: ") + e.what();
  }
  const auto problems = world.gather(problem);
  if (world.max(problem.empty() ? 0 : 1)) {
    for (std::size_t r = 0; r < problems.size(); ++r) {
      if (problems[r].empty()) continue;
      std::fprintf(stderr, "%s%s\n", r == 0 ? "" : ("rank " + std::to_string(r) + ": ").c_str(), problems[r].c_str());
      break;
    }
    return exit_bad_input;
  }

  const Suite& suite = *prepared.suite;
  const Platform& platform = prepared.platform;
  try {
    world.take_nvlink_domains(backend->nvlink_domain(world.placement().local_rank));
    if (world.rank() == 0 && options.backend_choice.rfind("backend auto: no rank", 0) == 0)
      std::fprintf(stderr, "rackqual: %s\n", options.backend_choice.c_str());
    if (world.rank() == 0)
      std::fprintf(stderr, "rackqual %s: suite %s, backend %s, platform %s, %d ranks on %zu hosts\n", version,
                   suite.name.c_str(), backend->name().c_str(), platform.name.c_str(), world.size(), world.hosts().size());
    Runner runner(world, *backend, suite, platform, std::move(prepared.plans), std::move(options));
    return runner.run();
  } catch (const std::exception& e) {
    // Other ranks may wait in a collective for this one: end them all, records stay on disk.
    std::fprintf(stderr, "rackqual: rank %d: error: %s\n", world.rank(), e.what());
    world.abort(exit_run_error);
  }
  return exit_run_error;   // not reached: abort ends the process
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rackqual: benchmarks and acceptance tests for GPU cluster bring-up"};
  app.set_version_flag("--version", version);
  app.require_subcommand(1);

  std::string suite_path, backend = "auto";
  RunOptions options;
  std::vector<std::string> faults;

  auto* run_cmd = app.add_subcommand("run", "Run a suite's checks and write records (launch under mpiexec or srun)");
  run_cmd->add_option("suite", suite_path, "Suite YAML file")->required();
  auto* qualify_cmd = app.add_subcommand("qualify",
                                         "Qualify a rack: the ladder gpu -> node -> rack -> span, a verdict per GPU, per node and "
                                         "for the rack (launch over the rack's GPUs, and those of the --with racks)");
  QualifyTarget target;
  bool keep_going = false;
  TopologyOptions topology;
  qualify_cmd->add_option("--rack", target.rack, "The rack under qualification, as the inventory names it")->required();
  qualify_cmd->add_option("--inventory", topology.inventory, "Inventory YAML: racks, their hosts, GPUs per host")->required();
  qualify_cmd->add_option("--with", target.with, "A rack already qualified that the span rung joins (repeatable)");
  suite_path = installed_suite("rack-bringup.yaml");
  qualify_cmd->add_option("--suite", suite_path, "Suite whose checks form the ladder, by scope")->capture_default_str();
  qualify_cmd->add_flag("--keep-going", keep_going, "Run every rung even after one fails (default: stop at the first that fails)");

  // Options both run and qualify take.
  std::vector<std::string> only, slow_hosts, slow_links;
  std::string simulate;
  for (auto* cmd : {run_cmd, qualify_cmd}) {
    cmd->add_option("--backend", backend, "Where kinds run: auto (cuda if a GPU is present, else host), host, cuda")
        ->check(CLI::IsMember({"auto", "host", "cuda"}));
    cmd->add_option("--out", options.out_dir, "Results folder; each run writes OUT/RUN_ID/{records.jsonl,manifest.json}")
        ->capture_default_str();
    cmd->add_option("--run-id", options.run_id,
                    "Name of the run folder, made new under OUT (default: the UTC time and a random suffix)");
    cmd->add_option("--only", only, "Run only this check id (repeatable)");
    cmd->add_option("--fault", faults,
                    "Inject a fault for tests and chaos drills: CHECK:RANK:MODE, MODE = wrong (corrupt a result), "
                    "corrupt (flip one bit of the output a consensus vote hashes), error (fail to prepare), hang (never "
                    "arrive) or late[=DURATION] (reach every timed sample late, default 2ms)");
    cmd->add_option("--slow-host", slow_hosts,
                    "Chaos drill: HOST=FACTOR makes every operation on HOST's ranks take FACTOR times as long");
    cmd->add_option("--slow-link", slow_links,
                    "Chaos drill: HOST_A,HOST_B=FACTOR makes operations whose group spans both hosts take FACTOR "
                    "times as long on their ranks");
    cmd->add_flag("--no-isolate", [&options](std::int64_t) { options.isolate = false; },
                  "Do not isolate the culprit when a collective group misses its criterion");
    cmd->add_option("--benchmark-json", options.benchmark_json,
                    "Also write Google Benchmark's JSON of the run here (it is always written beside the records)");
    cmd->add_option("--junit", options.junit,
                    "Also write JUnit XML for CI dashboards here when the run ends: a testsuite per check, a testcase "
                    "per GPU or group and point");
    cmd->add_option("--prometheus", options.prometheus,
                    "Also write a textfile for node_exporter's textfile collector here (PATH.prom) when the run ends: "
                    "figures, thresholds, verdicts, run time and exit code; replaced atomically");
  }
  auto* inventory_opt = run_cmd->add_option("--inventory", topology.inventory,
                                            "Inventory YAML: racks, their hosts, GPUs per host, NVLink domains, leaf switches");
  run_cmd->add_option("--simulate", simulate,
                      "Place ranks on simulated racks and hosts, RACKSxHOSTSxGPUS (e.g. 2x2x2 for 8 ranks), on the host backend")
      ->excludes(inventory_opt);

  auto* judge_cmd = app.add_subcommand("judge", "Judge records again by a suite's criteria; writes them as JSON Lines to stdout");
  std::string records_path;
  judge_cmd->add_option("records", records_path, "A records.jsonl file")->required();
  judge_cmd->add_option("--suite", suite_path, "Suite YAML file whose criteria judge the records")->required();
  std::string judge_platform;
  judge_cmd->add_option("--platform", judge_platform, "Platform profile (default: the suite's, or the records' device's for auto)");

  auto* ingest_cmd = app.add_subcommand("ingest", "Add runs to the fleet history (Parquet): ingest RESULTS --into HISTORY");
  auto* compare_cmd = app.add_subcommand("compare", "List what regressed between two results trees or histories: compare OLD NEW");
  auto* sweep_cmd = app.add_subcommand("sweep", "The nightly fleet sweep under Slurm: sweep --inventory INV --results TREE --history HIST");
  for (auto* cmd : {ingest_cmd, compare_cmd, sweep_cmd}) {   // every argument, --help included, is the package's
    cmd->set_help_flag();
    cmd->allow_extras();
    cmd->prefix_command();
  }

  auto* health_cmd = app.add_subcommand(
      "health", "Check this node's health quickly (Slurm HealthCheckProgram or prolog): exit 0 healthy, 1 unhealthy, "
                "2 could not assess, 3 a check errored; runs its own ranks, one per GPU (do not launch under mpiexec)");
  HealthOptions health_options;
  health_options.suite = installed_suite("health.yaml");
  health_cmd->add_option("--suite", health_options.suite, "The health suite")->capture_default_str();
  health_cmd->add_option("--backend", health_options.backend, "auto (cuda where a GPU is visible, else host), host, cuda")
      ->check(CLI::IsMember({"auto", "host", "cuda"}));
  health_cmd->add_option("--ranks", health_options.ranks, "Ranks to run (default: one per GPU; 2 on the host backend)")
      ->check(CLI::Range(1, 1024));
  health_cmd->add_option("--out", health_options.out, "Keep the records in OUT/RUN_ID (default: a temporary folder, removed)");
  health_cmd->add_option("--node", health_options.node, "The node's name in Slurm (default: SLURMD_NODENAME, else the host name)");
  health_cmd->add_flag("--drain", health_options.drain,
                       "Drain the node through scontrol when unhealthy, with the failing check and figure as the reason; "
                       "resume it when healthy if this command drained it. Never drains when the node could not be assessed");
  health_cmd->add_option("--timeout", health_options.timeout_s, "Seconds the whole check may take; past them, exit 3")
      ->capture_default_str()->check(CLI::PositiveNumber);
  std::vector<std::string> health_faults;
  health_cmd->add_option("--fault", health_faults, "Inject a fault, as for run (tests and chaos drills)");
  std::string health_junit, health_prometheus;
  health_cmd->add_option("--junit", health_junit, "Also write JUnit XML here, as run does");
  health_cmd->add_option("--prometheus", health_prometheus,
                         "Also write a Prometheus textfile here (node_exporter's textfile collector), as run does");

  auto* list_cmd = app.add_subcommand("list", "List benchmark kinds with their parameters and metrics");
  auto* check_cmd = app.add_subcommand("check", "Validate a suite and its platform profile without running it");
  check_cmd->add_option("suite", suite_path, "Suite YAML file")->required();
  std::string device_name;
  std::string platform_name;
  check_cmd->add_option("--backend", backend, "Backend to check against: auto (host when it runs every check, else cuda), host, cuda")
      ->check(CLI::IsMember({"auto", "host", "cuda"}));
  check_cmd->add_option("--platform", platform_name, "Platform profile to check against (default: the suite's; for auto on cuda, "
                                                     "the --device's profile or every GPU profile)");
  check_cmd->add_option("--device", device_name, "Device name 'auto' matches on the cuda backend (e.g. 'NVIDIA H100 80GB HBM3')");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (!first_rank()) return e.get_exit_code() == 0 ? 0 : exit_bad_input;
    const int code = app.exit(e);
    return code == 0 ? 0 : exit_bad_input;
  }

  try {
    if (!options.run_id.empty())
      if (const auto problem = name_problem(options.run_id)) throw FieldError("--run-id", *problem);
    for (const auto& f : faults) options.faults.push_back(parse_fault(f));
    check_output_file("--junit", options.junit);
    check_output_file("--prometheus", options.prometheus);
    if (!options.prometheus.empty() && !options.prometheus.ends_with(".prom"))
      say("rackqual: --prometheus: " + options.prometheus +
          " does not end in .prom; node_exporter's textfile collector reads only *.prom files");
    for (const auto& h : slow_hosts) options.slowdowns.hosts.push_back(parse_slow_host(h));
    for (const auto& l : slow_links) options.slowdowns.links.push_back(parse_slow_link(l));
    if (!simulate.empty()) {   // simulated hosts share one machine: the host backend
      topology.simulation = parse_simulation(simulate);
      if (backend == "cuda") throw FieldError("--simulate", "simulated hosts run the host backend, not cuda");
      backend = "host";
    }
    if (*list_cmd) {
      list_kinds();
      return exit_pass;
    }
    if (*ingest_cmd) return python_command("ingest", ingest_cmd->remaining());
    if (*compare_cmd) return python_command("compare", compare_cmd->remaining());
    if (*sweep_cmd) return python_command("sweep", sweep_cmd->remaining());
    if (*judge_cmd) return judge_records(records_path, suite_path, judge_platform);
    if (*health_cmd) {
      for (const auto& f : health_faults) {
        parse_fault(f);   // refused here, with the option's name, rather than by the run
        health_options.run_args.insert(health_options.run_args.end(), {"--fault", f});
      }
      for (const auto& [option, path] : {std::pair{"--junit", health_junit}, {"--prometheus", health_prometheus}}) {
        check_output_file(option, path);
        if (!path.empty()) health_options.run_args.insert(health_options.run_args.end(), {option, path});
      }
      return health(health_options);
    }
    if (*check_cmd) {
      check_suite(suite_path, backend, platform_name, device_name);
      return exit_pass;
    }
    std::string command_line;
    for (int i = 0; i < argc; ++i) command_line += (i ? " " : "") + std::string(argv[i]);
    options.command_line = command_line;
    int bench_argc = 1;
    char* bench_argv[] = {argv[0], nullptr};
    benchmark::Initialize(&bench_argc, bench_argv);
    if (*qualify_cmd) {
      topology.missing_gpus_allowed = true;   // a missing GPU fails its node's verdict, by name
      return run(argc, argv, suite_path, backend, only, std::move(options), topology, target, !keep_going);
    }
    return run(argc, argv, suite_path, backend, only, std::move(options), topology);
  } catch (const InputError& e) {
    say(e.what());
    return exit_bad_input;
  } catch (const FieldError& e) {
    say(std::string("rackqual: ") + e.what());
    return exit_bad_input;
  } catch (const std::exception& e) {
    // Nothing was measured: run and qualify end every error after set-up themselves (exit 3);
    // what reaches here (check, judge, a launcher or Python that cannot start) could not assess.
    say(std::string("rackqual: error: ") + e.what());
    return exit_bad_input;
  }
}
