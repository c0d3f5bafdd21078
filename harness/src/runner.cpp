#include "rackqual/runner.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include "rackqual/error.hpp"
#include "rackqual/manifest.hpp"
#include "rackqual/measure.hpp"
#include "rackqual/progress.hpp"
#include "rackqual/summary.hpp"
#include "rackqual/version.hpp"
#include "rackqual/watchdog.hpp"

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

// Telemetry of a measurement plus the metric per watt of average power (TFLOP/s per W, ...).
nlohmann::json with_per_watt(nlohmann::json telemetry, const MetricSpec& metric, double value) {
  if (!telemetry.is_object()) return telemetry;
  const auto power = telemetry.find("avg_power_w");
  if (metric.better == Better::higher && power != telemetry.end() && power->is_number() && power->get<double>() > 0)
    telemetry["per_watt"] = value / power->get<double>();
  return telemetry;
}

[[noreturn]] void hang_forever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

}  // namespace

std::vector<const Check*> select_checks(const Suite& suite, const std::vector<std::string>& only) {
  std::vector<const Check*> out;
  for (const auto& id : only) {
    bool found = false;
    for (const auto& c : suite.checks) found = found || c.id == id;
    if (!found) throw InputError(suite.path, 0, "--only", "no check with id '" + id + "' in suite " + suite.name);
  }
  for (const auto& c : suite.checks)
    if (only.empty() || std::find(only.begin(), only.end(), c.id) != only.end()) out.push_back(&c);
  return out;
}

Runner::Runner(World& world, Backend& backend, const Suite& suite, const Platform& platform, RunOptions options)
    : world_(world), backend_(backend), suite_(suite), platform_(platform), options_(std::move(options)) {}

int Runner::run() {
  const auto checks = select_checks(suite_, options_.only);
  run_id_ = world_.broadcast(new_run_id());
  const std::string dir = (std::filesystem::path(options_.out_dir) / run_id_).string();
  const bool root = world_.rank() == 0;

  Manifest manifest;
  std::unique_ptr<RecordWriter> writer;
  if (root) {
    std::filesystem::create_directories(dir);
    manifest.run_id = run_id_;
    manifest.versions = backend_.versions();
    manifest.versions["rackqual"] = version;
    manifest.hosts = world_.hosts();
    manifest.ranks = world_.size();
    manifest.backend = backend_.name();
    manifest.platform = platform_.name;
    for (const auto& [key, peak] : platform_.peaks) manifest.platform_peaks[key] = peak.value;
    manifest.suite_path = suite_.path;
    manifest.suite_hash = suite_.hash;
    manifest.command_line = options_.command_line;
    manifest.start_time = utc_now();
    write_manifest(dir + "/manifest.json", manifest);
    writer = std::make_unique<RecordWriter>(dir + "/records.jsonl");
  }

  std::vector<Record> all;
  Progress progress(root);
  std::atomic<const Check*> current{nullptr};
  Watchdog watchdog(world_, phase_names, [&](const std::string& check, const std::string& reason) {
    // Rank 0, watchdog thread: record the hang, close the manifest, then end every rank.
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
    writer->append(r);
    std::fprintf(stderr, "\nrackqual: %s: error: %s\n", check.c_str(), reason.c_str());
    manifest.end_time = utc_now();
    manifest.status = "aborted";
    manifest.exit_status = exit_run_error;
    write_manifest(dir + "/manifest.json", manifest);
  });

  for (std::size_t i = 0; i < checks.size(); ++i) {
    const Check& check = *checks[i];
    current = &check;
    check_index_ = static_cast<int>(i);
    watchdog_ = &watchdog;
    if (root) {
      progress.start(static_cast<int>(i) + 1, static_cast<int>(checks.size()), check.id);
      // Collectives that can abort themselves (NCCL) do so at the deadline; the watchdog, the
      // last resort, ends the run a little later if a rank still has not arrived.
      watchdog.begin_check(static_cast<int>(i), check.id, check.deadline * 1.1 + 5);
    }
    std::string mine;
    for (const auto& r : run_check(check)) mine += to_json(r).dump() + "\n";
    watchdog.arrive(check_index_, phase_gathered);
    const auto texts = world_.gather(mine);
    Verdict verdict = Verdict::pass;
    for (const auto& text : texts) {
      std::istringstream lines(text);
      for (std::string line; std::getline(lines, line);) {
        writer->append_line(line);
        all.push_back(record_from_json(nlohmann::json::parse(line)));
        verdict = worst(verdict, all.back().verdict);
      }
    }
    if (root) progress.finish(verdict);
    watchdog.drain();
  }
  watchdog.begin_check(-1, "", 0);

  int code = exit_code(all);
  if (root) {
    std::fputs(summary_table(all).c_str(), stdout);
    std::printf("records: %s/records.jsonl\n", dir.c_str());
    std::fflush(stdout);
    manifest.end_time = utc_now();
    manifest.status = "finished";
    manifest.exit_status = code;
    write_manifest(dir + "/manifest.json", manifest);
  }
  return std::stoi(world_.broadcast(std::to_string(code)));
}

std::vector<Record> Runner::run_check(const Check& check) {
  const Group& group = world_.group(check.scope);
  std::vector<Record> out;
  for (const Params& point : check.kind->points(check.params)) {
    auto records = measure_point(check, point, group);
    out.insert(out.end(), records.begin(), records.end());
  }
  return out;
}

// The criterion a metric is judged by at a point: the check's own, or else the platform's
// default for the kind and metric; with the text a record shows. A check that names a
// criterion for a metric opts out of the default for it, even at points its `at` skips.
std::pair<const Criterion*, std::string> Runner::criterion_for(const Check& check, const std::string& metric,
                                                               const Params& point) const {
  bool named = false;
  for (const auto& c : check.criteria) {
    if (c.metric != metric) continue;
    named = true;
    if (!c.at || point.list(check.kind->sweep_param()).front() == *c.at) return {&c, c.text};
  }
  if (named) return {nullptr, ""};
  // A default relative to peak holds only where the profile has that peak (a GPU profile
  // gives no fp64 figure, say): elsewhere the metric is recorded without a criterion.
  const Criterion* d = platform_.default_for(check.kind->name(), metric);
  if (!d || (d->uses_peak() && !platform_.peak(check.kind->peak_key(metric, point)))) return {nullptr, ""};
  return {d, d->text + " (platform " + platform_.name + " default)"};
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

std::vector<Record> Runner::measure_point(const Check& check, const Params& point, const Group& group) {
  const Kind& kind = *check.kind;
  const Placement& here = world_.placement();
  const auto fault = fault_for(options_.faults, check.id, world_.rank());
  const std::string who = "rank " + std::to_string(world_.rank()) + " (" + here.host + ")";

  if (group.size() < kind.min_ranks()) {
    if (!group.leader()) return {};
    Record r = base_record(check, point, group);
    r.verdict = Verdict::skip;
    r.reason = "scope " + r.scope + " has " + std::to_string(group.size()) + " rank(s); " + kind.name() + " needs " +
               std::to_string(kind.min_ranks());
    return {r};
  }

  // Prepare: build the operation; every rank must succeed before any enters a collective.
  watchdog_->arrive(check_index_, phase_start);
  std::unique_ptr<Op> op;
  std::string problem;
  try {
    if (fault == FaultMode::hang) hang_forever();
    if (fault == FaultMode::error) throw std::runtime_error("injected fault: preparation failed");
    op = backend_.make_op(kind.name(), OpContext{point, group, here.local_rank, backend_, check.deadline});
  } catch (const std::exception& e) {
    problem = e.what();
  }
  watchdog_->arrive(check_index_, phase_prepared);
  const bool prepared = group.all(problem.empty());

  // Correctness, apart from timing: one untimed pass, then the kind's own check.
  Correctness correct{false, ""};
  if (prepared) {
    try {
      op->run();
      if (fault == FaultMode::wrong) op->inject_error();
      correct = op->verify();
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
  watchdog_->arrive(check_index_, phase_verified);
  const bool ran = prepared && group.all(problem.empty());

  // Timing: every rank runs the same iteration count; the slowest rank sets each repetition.
  std::vector<Sample> samples;
  nlohmann::json telemetry;
  if (ran) {
    try {
      auto window = backend_.open_telemetry(here.local_rank);
      samples = slowest(time_op(*op, group, TimingPlan{2, 3, check.repetitions, check.min_time}), group);
      if (window) telemetry = window->close();
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
  watchdog_->arrive(check_index_, phase_measured);
  const bool measured = ran && group.all(problem.empty());

  // The leader hears every rank's problem or wrong result, then turns the figures into records.
  std::string status;
  if (!problem.empty()) status = who + ": " + problem;
  else if (ran && !correct.ok) status = who + ": " + correct.detail;
  const auto statuses = group.gather(status);
  if (!group.leader()) return {};
  Measurement m{measured, std::move(samples), std::move(telemetry), correct.detail, ""};
  for (const auto& s : statuses)
    if (!s.empty()) m.complaints += (m.complaints.empty() ? "" : "; ") + s;
  return records(check, point, group, m);
}

// The leader's records of one point: an error record when it could not be measured, else one
// record per metric, judged by its criterion, failed when any rank computed a wrong result.
std::vector<Record> Runner::records(const Check& check, const Params& point, const Group& group,
                                    const Measurement& m) const {
  const Kind& kind = *check.kind;
  Record base = base_record(check, point, group);
  if (!m.measured) {
    base.verdict = Verdict::error;
    base.reason = m.complaints.empty() ? "measurement failed" : m.complaints;
    return {base};
  }
  const bool all_correct = m.complaints.empty();
  const auto& samples = m.samples;
  const auto& telemetry = m.telemetry;

  std::map<std::string, std::vector<double>> values;
  for (const Sample& s : samples) {
    auto derived = kind.derive(point, s, group.size());
    for (const auto& spec : kind.metrics())
      if (!spec.fraction_of_peak_of.empty())
        if (auto peak = platform_.peak(kind.peak_key(spec.fraction_of_peak_of, point)))
          derived[spec.name] = derived.at(spec.fraction_of_peak_of) / *peak;
    for (const auto& [metric, v] : derived) values[metric].push_back(v);
  }

  std::vector<Record> out;
  for (const auto& spec : kind.metrics()) {
    if (!values.count(spec.name)) continue;   // a fraction of a peak the platform does not give
    Record r = base;
    r.metric = spec.name;
    r.unit = spec.unit;
    r.better = std::string(to_string(spec.better));
    r.stats = summarize(values.at(spec.name));
    r.value = r.stats->median;
    r.correct = all_correct;
    r.correct_detail = all_correct ? m.correct_detail : m.complaints;
    r.verdict = Verdict::pass;
    r.reason = "measured; no criterion";
    r.telemetry = with_per_watt(telemetry, spec, *r.value);
    if (const auto [c, text] = criterion_for(check, spec.name, point); c) {
      r.criterion = text;
      const auto judgement = judge(*c, *r.value, platform_.peak(kind.peak_key(spec.name, point)), spec.better);
      r.verdict = judgement.verdict;
      r.reason = judgement.reason;
    }
    if (!all_correct) {
      r.verdict = Verdict::fail;
      r.reason = "incorrect result: " + m.complaints;
    }
    if (telemetry.is_object() && telemetry.value("throttled", false))
      r.reason += " [throttled: " + telemetry.value("throttle_reasons", std::string("clocks reduced")) + "]";
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace rackqual
