#include "rackqual/run/runner.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include "rackqual/base/defaults.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/base/version.hpp"
#include "rackqual/judge/vote.hpp"
#include "rackqual/records/manifest.hpp"
#include "rackqual/records/run_folder.hpp"
#include "rackqual/records/sink.hpp"
#include "rackqual/records/summary.hpp"
#include "rackqual/run/benchmark_json.hpp"
#include "rackqual/run/measure.hpp"
#include "rackqual/world/watchdog.hpp"

namespace rackqual {
namespace {

// Where each rank reports itself to the watchdog within a check, in order.
enum Phase { phase_start, phase_prepared, phase_verified, phase_measured, phase_gathered };
const std::vector<std::string> phase_names = {"preparing", "prepared", "verified", "measured", "gathering records"};

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

[[noreturn]] void hang_forever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

// Each group rank's lateness at the samples' common start, with the latest rank named when it
// is later than the margin.
nlohmann::json arrival_of(const std::vector<double>& late_s, const Group& group) {
  if (late_s.empty()) return nullptr;
  nlohmann::json ranks = nlohmann::json::object();
  int latest = 0;
  for (int r = 0; r < static_cast<int>(late_s.size()); ++r) {
    ranks[std::to_string(group.world_rank(r))] = late_s[r];
    if (late_s[r] > late_s[latest]) latest = r;
  }
  nlohmann::json out = {{"late_s", ranks}, {"latest_rank", group.world_rank(latest)},
                        {"latest_late_s", late_s[latest]}, {"margin_s", defaults::late_arrival_margin_s}};
  out["late_ranks"] = nlohmann::json::array();
  for (int r = 0; r < static_cast<int>(late_s.size()); ++r)
    if (late_s[r] > defaults::late_arrival_margin_s) out["late_ranks"].push_back(group.world_rank(r));
  return out;
}

}  // namespace

Runner::Runner(World& world, Backend& backend, const Suite& suite, const Platform& platform, std::vector<CheckPlan> plans,
               RunOptions options)
    : world_(world), backend_(backend), suite_(suite), platform_(platform), plans_(std::move(plans)),
      options_(std::move(options)) {}

int Runner::run() {
  const auto& plans = plans_;
  const bool root = world_.rank() == 0;

  // Rank 0 owns every output; each is a sink over the records. The run folder is made new and
  // nothing in it is written through a link (run_folder.hpp); where that cannot be, no rank
  // runs anything.
  Sinks sinks;
  std::shared_ptr<const RunFolder> folder;
  std::string refused;
  if (root) {
    try {
      refused = "--benchmark-json: ";
      std::error_code absent;
      if (!options_.benchmark_json.empty() && std::filesystem::is_symlink(options_.benchmark_json, absent))
        throw SetupError(options_.benchmark_json + ": is a symbolic link; not followed");
      refused = "--out: ";
      std::tie(folder, run_id_) = claim_run_folder(options_.out_dir, options_.run_id);
      dir_ = folder->path();
      Manifest manifest;
      manifest.run_id = run_id_;
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
      sinks.add(manifest_sink(folder, "manifest.json", std::move(manifest)));
      sinks.add(json_lines_sink(folder->create("records.jsonl")));
      sinks.add(progress_sink());
      sinks.add(console_table_sink(stdout, dir_ + "/records.jsonl"));
      if (!options_.junit.empty()) sinks.add(junit_sink(options_.junit));
      if (!options_.prometheus.empty()) sinks.add(prometheus_sink(options_.prometheus, plans_));
      refused.clear();
    } catch (const SetupError& e) {
      refused += e.what();
    }
  }
  if (const std::string why = world_.broadcast(refused); !why.empty()) {
    if (root) std::fprintf(stderr, "rackqual: %s\n", why.c_str());
    return exit_bad_input;
  }
  run_id_ = world_.broadcast(run_id_);
  dir_ = (std::filesystem::path(options_.out_dir) / run_id_).string();
  BenchmarkJson benchmark_json;
  benchmark_json_ = &benchmark_json;

  std::atomic<const Check*> current{nullptr};
  Watchdog watchdog(world_, phase_names, [&](const std::string& check, const std::string& reason) {
    // Rank 0, watchdog thread: record the hang through the sinks, close the run, then end every rank.
    Record r;
    r.run_id = run_id_;
    r.time = utc_now();
    r.suite = suite_.name;
    r.check = check;
    r.backend = backend_.name();
    if (const Check* c = current.load()) {
      r.kind = c->kind->name();
      r.scope = std::string(to_string(c->scope));
    }
    r.group = "cluster";
    r.host = world_.placement().host;
    r.rack = world_.placement().rack;
    r.verdict = Verdict::error;
    r.reason = reason;
    sinks.write(r);
    std::fprintf(stderr, "\nrackqual: %s: error: %s\n", check.c_str(), reason.c_str());
    sinks.end_run("aborted", exit_run_error);
  }, [&](const std::string&, const std::vector<int>& ranks, const std::string& reason) {
    // Rank 0, watchdog thread: give up on the ranks that never arrived; the others regroup.
    {
      std::lock_guard lock(abandon_mutex_);
      abandon_reason_ = reason;
    }
    world_.abandon(ranks);
  });
  watchdog_ = &watchdog;

  Verdict run_worst = Verdict::pass;   // rank 0's: every rank's records pass through it
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const Check& check = *plans[i].check;
    current = &check;
    check_index_ = static_cast<int>(i);
    if (root) {
      sinks.begin_check(static_cast<int>(i) + 1, static_cast<int>(plans.size()), check.id);
      // Collectives that can abort themselves (NCCL) do so at the deadline; the watchdog, the
      // last resort, ends the run a little later if a rank still has not arrived.
      watchdog.begin_check(static_cast<int>(i), check.id, check.deadline * defaults::watchdog_factor + defaults::watchdog_grace_s);
    }
    std::vector<Record> check_records = excluded_records(check);
    // A staged run (qualify's ladder) stops once a stage ends failed: the later checks are skipped.
    const bool new_stage = !options_.stages.empty() && i > 0 && options_.stages[i] != options_.stages[i - 1];
    if (new_stage && options_.stop_at_failed_stage && stopped_after_.empty()) {
      const bool failed = run_worst == Verdict::fail || run_worst == Verdict::error;
      if (world_.broadcast(root && failed ? "stop" : "") == "stop") stopped_after_ = plans[i - 1].check->id;
    }
    if (!stopped_after_.empty()) {
      if (root)
        for (const PointPlan& point : plans[i].points) {
          Record r = base_record(check, point.params, world_.all());
          r.verdict = Verdict::skip;
          r.reason = "not run: an earlier stage failed (stopped after " + stopped_after_ + ")";
          check_records.push_back(std::move(r));
        }
      Verdict verdict = Verdict::skip;
      for (const auto& r : check_records) {
        sinks.write(r);
        verdict = worst(verdict, r.verdict);
      }
      all_records_.insert(all_records_.end(), check_records.begin(), check_records.end());
      run_worst = worst(run_worst, verdict);
      if (root) sinks.end_check(verdict);
      continue;
    }
    try {
      std::string mine;
      for (const auto& r : run_check(plans[i])) mine += to_json(r).dump() + "\n";
      watchdog.arrive(check_index_, phase_gathered);
      const auto texts = world_.gather(mine);
      for (const auto& text : texts) {
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) check_records.push_back(record_from_json(nlohmann::json::parse(line)));
      }
      judge_peers(check_records, plans[i]);   // on rank 0, once every rank's figures are in
      for (auto& r : isolate_failures(plans[i], check_records)) check_records.push_back(std::move(r));
    } catch (const Abandoned& gone) {
      // Ranks that never arrived: named, excluded, and the run goes on over the others.
      world_.exclude(gone.ranks);
      if (root) {
        watchdog.exclude(gone.ranks);
        check_records = excluded_records(check);
        std::string reason;
        {
          std::lock_guard lock(abandon_mutex_);
          reason = abandon_reason_;
        }
        const std::string others = std::to_string(world_.size() - static_cast<int>(world_.excluded().size()));
        for (int rank : gone.ranks) {
          excluded_at_[rank] = check.id;
          check_records.push_back(rank_error(check, rank, "never arrived and is excluded; the run goes on over the " + others +
                                                              " other ranks (" + reason + ")"));
        }
      }
    }
    Verdict verdict = Verdict::pass;
    for (const auto& r : check_records) {
      sinks.write(r);
      verdict = worst(verdict, r.verdict);
    }
    if (options_.verdicts) all_records_.insert(all_records_.end(), check_records.begin(), check_records.end());
    run_worst = worst(run_worst, verdict);
    if (root) sinks.end_check(verdict);
    watchdog.drain();
  }
  watchdog.begin_check(-1, "", 0);

  // Google Benchmark's JSON of every rank's runs, beside the records.
  bool unwritten = false;   // rank 0 could not write it: the run ends as a run error
  const auto documents = world_.gather(benchmark_json.finish());
  if (root) {
    const std::string merged = BenchmarkJson::merge(documents);
    try {
      folder->replace("benchmark.json", merged);
      if (!options_.benchmark_json.empty()) write_file_no_follow(options_.benchmark_json, merged);
    } catch (const SetupError& e) {
      std::fprintf(stderr, "rackqual: error: %s\n", e.what());
      unwritten = true;
    }
  }

  // The verdicts drawn from the whole run (qualify's per GPU, node and rack), on rank 0.
  if (root && options_.verdicts) {
    Record base = base_record(*plans.front().check, Params(), world_.all());
    for (const auto& r : options_.verdicts(base, world_.placements(), all_records_)) {
      sinks.write(r);
      run_worst = worst(run_worst, r.verdict);
    }
  }
  const int code = unwritten ? exit_run_error : exit_code(run_worst);
  if (root) sinks.end_run("finished", code);
  return std::stoi(world_.broadcast(std::to_string(code)));
}

// On rank 0: an error record of this check for each rank excluded earlier in the run.
std::vector<Record> Runner::excluded_records(const Check& check) const {
  std::vector<Record> out;
  if (world_.rank() != 0) return out;
  for (const auto& [rank, where] : excluded_at_)
    out.push_back(rank_error(check, rank, "did not run: excluded since it never arrived at check " + where));
  return out;
}

// An error record of `check` for world rank `rank`, whatever rank writes it.
Record Runner::rank_error(const Check& check, int rank, const std::string& what) const {
  const Placement& where = world_.placements()[static_cast<std::size_t>(rank)];
  Record r = base_record(check, Params(), world_.all());
  r.params = nlohmann::json::object();
  r.group = group_name(check.scope, world_.placements(), rank);
  r.rank = rank;
  r.host = where.host;
  r.rack = where.rack;
  r.device.reset();
  r.verdict = Verdict::error;
  r.reason = "rank " + std::to_string(rank) + " (" + where.host + ") " + what;
  return r;
}

std::vector<Record> Runner::run_check(const CheckPlan& plan) {
  const Check& check = *plan.check;
  const Group& group = world_.group(check.scope);
  std::vector<Record> out;
  for (const PointPlan& point : plan.points) {
    if (group.size() < check.kind->min_ranks()) {
      if (!group.leader()) continue;
      Record r = base_record(check, point.params, group);
      r.verdict = Verdict::skip;
      r.reason = "scope " + r.scope + " has " + std::to_string(group.size()) + " rank(s); " + check.kind->name() +
                 " needs " + std::to_string(check.kind->min_ranks());
      out.push_back(std::move(r));
      continue;
    }
    const Measurement m = measure(check, point, group);
    if (!group.leader()) continue;
    auto records = judge_point(base_record(check, point.params, group), *check.kind, point, m, group.size());
    out.insert(out.end(), records.begin(), records.end());
  }
  return out;
}

// A record with the context of one measurement on this rank, before any figure.
Record Runner::base_record(const Check& check, const Params& point, const Group& group) const {
  const Placement& here = world_.placement();
  Record r;
  r.run_id = run_id_;
  r.time = utc_now();
  r.suite = suite_.name;
  r.check = check.id;
  r.kind = check.kind->name();
  r.backend = backend_.name();
  r.scope = std::string(to_string(check.scope));
  r.group = group.name();
  r.rank = world_.rank();
  r.host = here.host;
  r.rack = here.rack;
  if (check.scope == Scope::gpu) r.device = backend_.device(here.local_rank);
  r.params = point.to_json();
  return r;
}

// check/param:value/.../where: one name per figure, the same from run to run.
std::string Runner::benchmark_name(const Check& check, const Params& point, const Group& group) const {
  std::string name = check.id;
  const nlohmann::json params = point.to_json();
  for (const auto& [key, value] : params.items())
    name += "/" + key + ":" + (value.is_string() ? value.get<std::string>() : value.is_array() && value.size() == 1 ? value[0].dump() : value.dump());
  if (check.scope == Scope::gpu) return name + "/host:" + world_.placement().host + "/rank:" + std::to_string(world_.rank());
  return name + "/" + std::string(to_string(check.scope)) + ":" + group.name();
}

// Prepare, check once untimed, then time; every step agreed across the group before the next,
// so that no rank enters a collective another has given up on. Returns, on the group's leader,
// what the group measured.
Measurement Runner::measure(const Check& check, const PointPlan& point, const Group& group) {
  const Placement& here = world_.placement();
  const Fault* fault = find_fault(options_.faults, check.id, world_.rank());
  auto injected = [fault](FaultMode mode) { return fault && fault->mode == mode; };
  const std::string who = "rank " + std::to_string(world_.rank()) + " (" + here.host + ")";

  // Prepare: build the operation; every rank must succeed before any enters a collective.
  watchdog_->arrive(check_index_, phase_start);
  std::unique_ptr<Op> op;
  std::string problem;
  try {
    if (injected(FaultMode::hang)) hang_forever();
    if (injected(FaultMode::error)) throw std::runtime_error("injected fault: preparation failed");
    op = backend_.make_op(check.kind->name(), OpContext{point.params, group, here.local_rank, backend_, check.deadline});
    std::vector<std::string> group_hosts;
    for (int r = 0; r < group.size(); ++r) group_hosts.push_back(world_.placements()[static_cast<std::size_t>(group.world_rank(r))].host);
    op = slowed(std::move(op), options_.slowdowns.factor(here.host, group_hosts));
  } catch (const std::exception& e) {
    problem = e.what();
  }
  watchdog_->arrive(check_index_, phase_prepared);
  const bool prepared = group.all(problem.empty());

  // Correctness, apart from timing: one untimed launch, then the kind's own check.
  Correctness correct{false, ""};
  std::optional<RankDigest> digest;   // consensus: this rank's output, before verify() runs on
  if (prepared) {
    try {
      op->launch();
      op->wait();
      if (injected(FaultMode::wrong)) op->inject_error();
      if (injected(FaultMode::corrupt)) op->corrupt();
      if (auto d = op->digest()) digest = RankDigest{world_.rank(), here.host, backend_.device(here.local_rank), *d};
      correct = op->verify();
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
  watchdog_->arrive(check_index_, phase_verified);
  const bool ran = prepared && group.all(problem.empty());

  // Timing: every rank launches the same batches; the slowest rank sets each batch's time.
  Measurement m;
  Timing timing;
  if (ran) {
    try {
      TimingPlan plan;
      plan.repetitions = check.repetitions;
      plan.min_time = check.min_time;
      plan.name = benchmark_name(check, point.params, group);
      if (world_.simulated()) plan.engine = TimingPlan::Engine::plain_loop;
      if (injected(FaultMode::late)) {
        // Held up by other work, as a straggling rank is: it stays busy (and its core awake)
        // for the duration, then arrives.
        const double late = fault->late_s;
        plan.before_sample = [late] {
          const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(late);
          while (std::chrono::steady_clock::now() < until) {
          }
        };
      }
      const Kind& kind = *check.kind;
      const int ranks = group.size();
      plan.metrics = [&kind, &point, ranks](const Sample& s) { return kind.derive(point.params, s, ranks); };
      auto timer = backend_.timer();
      auto window = backend_.open_telemetry(here.local_rank);
      timing = time_op(*op, *timer, group, plan, group.leader() ? benchmark_json_->reporter() : nullptr);
      if (window) m.telemetry = window->close();
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
  watchdog_->arrive(check_index_, phase_measured);
  m.measured = ran && group.all(problem.empty());

  // The leader hears every rank's problem or wrong result.
  std::string status;
  if (!problem.empty()) status = who + ": " + problem;
  else if (ran && !correct.ok) status = who + ": " + correct.detail;
  const auto statuses = group.gather(status);
  m.digests = gather_digests(group, digest);
  if (!group.leader()) return m;
  m.samples = std::move(timing.samples);
  m.correct_detail = correct.detail;
  for (const auto& s : statuses)
    if (!s.empty()) m.complaints += (m.complaints.empty() ? "" : "; ") + s;
  if (m.measured) {
    m.timing = {{"launches_per_batch", timing.batching.launches},
                {"batches_per_repetition", timing.batching.batches},
                {"repetitions", check.repetitions}};
    m.arrival = arrival_of(timing.late_s, group);
  }
  return m;
}

}  // namespace rackqual
