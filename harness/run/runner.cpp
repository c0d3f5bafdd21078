#include "rackqual/run/runner.hpp"

#include <atomic>
#include <filesystem>
#include <random>

#include "rackqual/api/exchange.hpp"
#include "rackqual/base/defaults.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/base/version.hpp"
#include "rackqual/records/manifest.hpp"
#include "rackqual/records/run_folder.hpp"
#include "rackqual/records/sink.hpp"
#include "rackqual/records/summary.hpp"
#include "rackqual/run/benchmark_json.hpp"
#include "rackqual/run/culprits.hpp"
#include "rackqual/world/watchdog.hpp"

namespace rackqual {
namespace {

std::string new_run_id() {
  std::string stamp = utc_now();  // 2026-11-21T21:03:00.123Z
  std::string id;
  for (char c : stamp.substr(0, 19))
    if (c != '-' && c != ':') id += c;
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%04x", rd() & 0xffff);
  return id + "Z-" + suffix;
}

// A new run folder under `out`, claimed by creating it: runs that start in the same second into
// one results tree (a rack's job each) never share a folder, whatever their random suffixes. A
// run id the operator chose is taken as it is, or refused. Throws SetupError.
std::pair<std::shared_ptr<const RunFolder>, std::string> claim_run_folder(const std::string& out,
                                                                         const std::string& chosen) {
  for (;;) {
    const std::string id = chosen.empty() ? new_run_id() : chosen;
    try {
      return {std::make_shared<const RunFolder>(out, id), id};
    } catch (const SetupError&) {
      std::error_code ec;   // taken by another run: draw again; anything else is refused
      if (!chosen.empty() || !std::filesystem::exists(std::filesystem::symlink_status(std::filesystem::path(out) / id, ec)))
        throw;
    }
  }
}

}  // namespace

// The run's manifest as it starts: versions, hosts, topology, backend, platform, suite, command.
Manifest Runner::manifest(const std::string& run_id) const {
  Manifest manifest;
  manifest.run_id = run_id;
  manifest.versions = backend_.versions();
  manifest.versions["rackqual"] = version;
  manifest.hosts = world_.hosts();
  manifest.ranks = world_.size();
  manifest.topology = world_.topology();
  manifest.backend = backend_.name();
  manifest.backend_choice = options_.backend_choice;
  manifest.platform = platform_.name;
  for (const auto& [key, peak] : platform_.peaks) manifest.platform_peaks[key] = peak.value;
  manifest.suite_path = suite_.path;
  manifest.suite_hash = suite_.hash;
  manifest.command_line = options_.command_line;
  return manifest;
}

struct Runner::Outputs {
  Sinks sinks;
  std::shared_ptr<const RunFolder> folder;
};

struct Runner::CheckTurn {
  const CheckPlan& plan;
  int index;   // in the run, as the watchdog counts
  Outputs& outputs;
  Watchdog& watchdog;
  BenchmarkJson& benchmark_json;
};

Runner::Runner(World& world, Backend& backend, const Suite& suite, const Platform& platform, std::vector<CheckPlan> plans,
               RunOptions options)
    : world_(world), backend_(backend), suite_(suite), platform_(platform), plans_(std::move(plans)),
      options_(std::move(options)), records_(world, backend, suite.name) {}

Runner::~Runner() = default;

int Runner::run() {
  const bool root = world_.rank() == 0;
  Outputs outputs;
  if (const std::string why = world_.broadcast(root ? open_outputs(outputs) : ""); !why.empty()) {
    if (root) std::fprintf(stderr, "rackqual: %s\n", why.c_str());
    return exit_bad_input;
  }
  records_.set_run_id(world_.broadcast(records_.run_id()));
  dir_ = (std::filesystem::path(options_.out_dir) / records_.run_id()).string();
  BenchmarkJson benchmark_json;

  std::atomic<const Check*> current{nullptr};
  Watchdog watchdog(world_, phase_names, [&](const std::string& check, const std::string& reason) {
    // Rank 0, watchdog thread: record the hang through the sinks, close the run, then end every rank.
    outputs.sinks.write(records_.hang(check, current.load(), reason));
    std::fprintf(stderr, "\nrackqual: %s: error: %s\n", check.c_str(), reason.c_str());
    outputs.sinks.end_run("aborted", exit_run_error);
  }, [&](const std::string&, const std::vector<int>& ranks, const std::string& reason) {
    // Rank 0, watchdog thread: give up on the ranks that never arrived; the others regroup.
    {
      std::lock_guard lock(abandon_mutex_);
      abandon_reason_ = reason;
    }
    world_.abandon(ranks);
  });

  Verdict run_worst = Verdict::pass;   // rank 0's: every rank's records pass through it
  for (std::size_t i = 0; i < plans_.size(); ++i) {
    current = plans_[i].check;
    run_worst = run_check(CheckTurn{plans_[i], static_cast<int>(i), outputs, watchdog, benchmark_json}, run_worst);
  }
  watchdog.begin_check(-1, "", 0);
  return finish(outputs, benchmark_json, run_worst);
}

// Rank 0 owns every output; each is a sink over the records. The run folder is made new and
// nothing in it is written through a link (run_folder.hpp). Returns why it cannot be (then no
// rank runs anything), or nothing.
std::string Runner::open_outputs(Outputs& outputs) {
  std::string refused;
  try {
    refused = "--benchmark-json: ";
    std::error_code absent;
    if (!options_.benchmark_json.empty() && std::filesystem::is_symlink(options_.benchmark_json, absent))
      throw SetupError(options_.benchmark_json + ": is a symbolic link; not followed");
    refused = "--out: ";
    std::string run_id;
    std::tie(outputs.folder, run_id) = claim_run_folder(options_.out_dir, options_.run_id);
    records_.set_run_id(run_id);
    dir_ = outputs.folder->path();
    Sinks& sinks = outputs.sinks;
    sinks.add(manifest_sink(outputs.folder, "manifest.json", manifest(run_id)));
    sinks.add(json_lines_sink(outputs.folder->create("records.jsonl")));
    sinks.add(progress_sink());
    sinks.add(console_table_sink(stdout, dir_ + "/records.jsonl"));
    if (!options_.junit.empty()) sinks.add(junit_sink(options_.junit));
    if (!options_.prometheus.empty()) sinks.add(prometheus_sink(options_.prometheus, plans_));
    return "";
  } catch (const SetupError& e) {
    return refused + e.what();
  }
}

// One check on every rank: skipped after a failed stage, else measured, judged against its
// peers and isolated; its records through the sinks. Returns the run's worst verdict so far.
Verdict Runner::run_check(const CheckTurn& turn, Verdict run_worst) {
  const bool root = world_.rank() == 0;
  const Check& check = *turn.plan.check;
  if (root) {
    turn.outputs.sinks.begin_check(turn.index + 1, static_cast<int>(plans_.size()), check.id);
    // Collectives that can abort themselves (NCCL) do so at the deadline; the watchdog, the
    // last resort, ends the run a little later if a rank still has not arrived.
    turn.watchdog.begin_check(turn.index, check.id, check.deadline * defaults::watchdog_factor + defaults::watchdog_grace_s);
  }
  const bool skipped = stopped_before(turn, run_worst);
  std::vector<Record> check_records = skipped ? skipped_check(turn.plan) : measured_check(turn);
  Verdict verdict = skipped ? Verdict::skip : Verdict::pass;
  for (const auto& r : check_records) {
    turn.outputs.sinks.write(r);
    verdict = worst(verdict, r.verdict);
  }
  if (skipped || options_.verdicts) all_records_.insert(all_records_.end(), check_records.begin(), check_records.end());
  if (root) turn.outputs.sinks.end_check(verdict);
  if (!skipped) turn.watchdog.drain();
  return worst(run_worst, verdict);
}

// A staged run (qualify's ladder) stops once a stage ends failed: the later checks are skipped.
bool Runner::stopped_before(const CheckTurn& turn, Verdict run_worst) {
  const std::size_t i = static_cast<std::size_t>(turn.index);
  const bool new_stage = !options_.stages.empty() && i > 0 && options_.stages[i] != options_.stages[i - 1];
  if (new_stage && options_.stop_at_failed_stage && stopped_after_.empty()) {
    const bool failed = run_worst == Verdict::fail || run_worst == Verdict::error;
    if (broadcast_value(world_.all(), world_.rank() == 0 && failed)) stopped_after_ = plans_[i - 1].check->id;
  }
  return !stopped_after_.empty();
}

// On rank 0: a skip record for each point of a check after the stage that stopped the run.
std::vector<Record> Runner::skipped_check(const CheckPlan& plan) const {
  std::vector<Record> out = excluded_records(*plan.check);
  if (world_.rank() != 0) return out;
  for (const PointPlan& point : plan.points)
    out.push_back(records_.judged(*plan.check, point.params, world_.all(), Verdict::skip,
                                  "not run: an earlier stage failed (stopped after " + stopped_after_ + ")"));
  return out;
}

// Every rank measures the check's points; rank 0 gathers every rank's records, judges them
// against their peers and isolates the culprits of what failed. Ranks that never arrive are
// named, excluded, and the run goes on over the others.
std::vector<Record> Runner::measured_check(const CheckTurn& turn) {
  const CheckContext context{world_, backend_, options_, records_, turn.watchdog, turn.benchmark_json, turn.index};
  std::vector<Record> check_records = excluded_records(*turn.plan.check);
  try {
    const auto mine = measure_points(context, turn.plan);
    turn.watchdog.arrive(turn.index, phase_gathered);
    for (auto& rank_records : gather_values(world_.all(), mine))
      check_records.insert(check_records.end(), rank_records.begin(), rank_records.end());
    judge_peers(check_records, turn.plan);   // on rank 0, once every rank's figures are in
    for (auto& r : isolate_failures(context, turn.plan, check_records)) check_records.push_back(std::move(r));
    return check_records;
  } catch (const Abandoned& gone) {
    return exclude_absent(*turn.plan.check, gone.ranks, turn.watchdog);
  }
}

// This rank's records of every point of a check over its group (the group's leader's).
std::vector<Record> Runner::measure_points(const CheckContext& context, const CheckPlan& plan) {
  const Check& check = *plan.check;
  const Group& group = world_.group(check.scope);
  std::vector<Record> out;
  for (const PointPlan& point : plan.points) {
    if (group.size() < check.kind->min_ranks()) {
      if (!group.leader()) continue;
      out.push_back(records_.judged(check, point.params, group, Verdict::skip,
                                    "scope " + std::string(to_string(check.scope)) + " has " + std::to_string(group.size()) +
                                        " rank(s); " + check.kind->name() + " needs " + std::to_string(check.kind->min_ranks())));
      continue;
    }
    const Measurement m = measure_point(context, check, point, group);
    if (!group.leader()) continue;
    auto records = judge_point(records_.base(check, point.params, group), *check.kind, point, m, group.size());
    out.insert(out.end(), records.begin(), records.end());
  }
  return out;
}

// Every live rank: the ranks that never arrived leave the world. On rank 0, the check's records
// are then an error for each of them (and for those excluded before).
std::vector<Record> Runner::exclude_absent(const Check& check, const std::vector<int>& ranks, Watchdog& watchdog) {
  // What the backend keeps for the old groups (NCCL communicators) must not wait on the ranks gone.
  world_.exclude(ranks, [this](const Group& group) { backend_.release(group, true); });
  if (world_.rank() != 0) return {};
  watchdog.exclude(ranks);
  std::vector<Record> out = excluded_records(check);
  std::string reason;
  {
    std::lock_guard lock(abandon_mutex_);
    reason = abandon_reason_;
  }
  const std::string others = std::to_string(world_.size() - static_cast<int>(world_.excluded().size()));
  for (int rank : ranks) {
    excluded_at_[rank] = check.id;
    out.push_back(records_.rank_error(check, rank, "never arrived and is excluded; the run goes on over the " + others +
                                                       " other ranks (" + reason + ")"));
  }
  return out;
}

// On rank 0: an error record of this check for each rank excluded earlier in the run.
std::vector<Record> Runner::excluded_records(const Check& check) const {
  std::vector<Record> out;
  if (world_.rank() != 0) return out;
  for (const auto& [rank, where] : excluded_at_)
    out.push_back(records_.rank_error(check, rank, "did not run: excluded since it never arrived at check " + where));
  return out;
}

// The end of the run: Google Benchmark's JSON of every rank's runs beside the records, the
// verdicts drawn from the whole run (qualify's per GPU, node and rack) on rank 0, the exit code.
int Runner::finish(Outputs& outputs, BenchmarkJson& benchmark_json, Verdict run_worst) {
  const bool root = world_.rank() == 0;
  bool unwritten = false;   // rank 0 could not write it: the run ends as a run error
  const auto documents = world_.gather(benchmark_json.finish());
  if (root) {
    const std::string merged = BenchmarkJson::merge(documents);
    try {
      outputs.folder->replace("benchmark.json", merged);
      if (!options_.benchmark_json.empty()) write_file_no_follow(options_.benchmark_json, merged);
    } catch (const SetupError& e) {
      std::fprintf(stderr, "rackqual: error: %s\n", e.what());
      unwritten = true;
    }
  }
  if (root && options_.verdicts) {
    const Record base = records_.base(*plans_.front().check, Params(), world_.all());
    for (const auto& r : options_.verdicts(base, world_.placements(), all_records_)) {
      outputs.sinks.write(r);
      run_worst = worst(run_worst, r.verdict);
    }
  }
  const int code = unwritten ? exit_run_error : exit_code(run_worst);
  if (root) outputs.sinks.end_run("finished", code);
  return broadcast_value(world_.all(), code);
}

}  // namespace rackqual
