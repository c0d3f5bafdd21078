#include "rackqual/run/point.hpp"

#include <chrono>
#include <thread>

#include "rackqual/base/defaults.hpp"
#include "rackqual/judge/vote.hpp"
#include "rackqual/run/benchmark_json.hpp"
#include "rackqual/run/measure.hpp"
#include "rackqual/world/watchdog.hpp"

namespace rackqual {

const std::vector<std::string> phase_names = {"preparing", "prepared", "verified", "measured", "gathering records"};

namespace {

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

[[noreturn]] void hang_forever() {
  for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
}

// One point's measurement on this rank, step by step; each step's problem ends the later ones.
class PointMeasurement {
 public:
  PointMeasurement(const CheckContext& context, const Check& check, const PointPlan& point, const Group& group)
      : c_(context), check_(check), point_(point), group_(group), here_(context.world.placement()),
        fault_(find_fault(context.options.faults, check.id, context.world.rank())) {}

  Measurement run();

 private:
  bool injected(FaultMode mode) const { return fault_ && fault_->mode == mode; }
  void arrive(Phase phase) const { c_.watchdog.arrive(c_.check_index, phase); }
  void prepare();
  void verify();
  Timing time(Measurement& m);
  TimingPlan timing_plan() const;
  std::string benchmark_name() const;
  Measurement heard_by_leader(Measurement m, const Timing& timing, bool ran);

  const CheckContext& c_;
  const Check& check_;
  const PointPlan& point_;
  const Group& group_;
  const Placement& here_;
  const Fault* fault_;
  std::unique_ptr<Op> op_;
  std::string problem_;
  Correctness correct_{false, ""};
  std::optional<RankDigest> digest_;   // consensus: this rank's output, before verify() runs on
};

// Prepare: build the operation; every rank must succeed before any enters a collective.
void PointMeasurement::prepare() {
  try {
    if (injected(FaultMode::hang)) hang_forever();
    if (injected(FaultMode::error)) throw std::runtime_error("injected fault: preparation failed");
    op_ = c_.backend.make_op(check_.kind->name(), OpContext{point_.params, group_, here_.local_rank, c_.backend, check_.deadline});
    std::vector<std::string> group_hosts;
    for (int r = 0; r < group_.size(); ++r)
      group_hosts.push_back(c_.world.placements()[static_cast<std::size_t>(group_.world_rank(r))].host);
    op_ = slowed(std::move(op_), c_.options.slowdowns.factor(here_.host, group_hosts), group_.size() == 1);
  } catch (const std::exception& e) {
    problem_ = e.what();
  }
}

// Correctness, apart from timing: one untimed launch, then the kind's own check.
void PointMeasurement::verify() {
  try {
    op_->launch();
    op_->wait();
    if (injected(FaultMode::wrong)) op_->inject_error();
    if (injected(FaultMode::corrupt)) op_->corrupt();
    if (auto d = op_->digest()) digest_ = RankDigest{c_.world.rank(), here_.host, c_.backend.device(here_.local_rank), *d};
    correct_ = op_->verify();
  } catch (const std::exception& e) {
    problem_ = e.what();
  }
}

// check/param:value/.../where: one name per figure, the same from run to run.
std::string PointMeasurement::benchmark_name() const {
  std::string name = check_.id;
  const nlohmann::json params = point_.params.to_json();
  for (const auto& [key, value] : params.items())
    name += "/" + key + ":" + (value.is_string() ? value.get<std::string>() : value.is_array() && value.size() == 1 ? value[0].dump() : value.dump());
  if (check_.scope == Scope::gpu) return name + "/host:" + here_.host + "/rank:" + std::to_string(c_.world.rank());
  return name + "/" + std::string(to_string(check_.scope)) + ":" + group_.name();
}

TimingPlan PointMeasurement::timing_plan() const {
  TimingPlan plan;
  plan.repetitions = check_.repetitions;
  plan.min_time = check_.min_time;
  plan.name = benchmark_name();
  if (c_.world.simulated()) plan.engine = TimingPlan::Engine::plain_loop;
  if (injected(FaultMode::late)) {
    // Held up by other work, as a straggling rank is: it stays busy (and its core awake)
    // for the duration, then arrives.
    const double late = fault_->late_s;
    plan.before_sample = [late] {
      const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(late);
      while (std::chrono::steady_clock::now() < until) {
      }
    };
  }
  if (injected(FaultMode::sample_error))
    plan.inside_sample = [] { throw std::runtime_error("injected fault: a timed sample failed before its end mark"); };
  const Kind& kind = *check_.kind;
  const Params& params = point_.params;
  const int ranks = group_.size();
  plan.metrics = [&kind, &params, ranks](const Sample& s) { return kind.derive(params, s, ranks); };
  return plan;
}

// Timing: every rank launches the same batches; the slowest rank sets each batch's time.
Timing PointMeasurement::time(Measurement& m) {
  Timing timing;
  try {
    auto timer = c_.backend.timer();
    auto window = c_.backend.open_telemetry(here_.local_rank);
    timing = time_op(*op_, *timer, group_, timing_plan(), group_.leader() ? c_.benchmark_json.reporter() : nullptr);
    if (window) m.telemetry = window->close();
  } catch (const GroupFailure&) {
    // Another rank failed at the same step and reports its own failure; this rank's part ends
    // here, and the agreement after timing finds the point not measured.
  } catch (const std::exception& e) {
    problem_ = e.what();
  }
  return timing;
}

Measurement PointMeasurement::run() {
  arrive(phase_start);
  prepare();
  arrive(phase_prepared);
  const bool prepared = group_.all(problem_.empty());
  if (prepared) verify();
  arrive(phase_verified);
  const bool ran = prepared && group_.all(problem_.empty());
  Measurement m;
  Timing timing;
  if (ran) timing = time(m);
  arrive(phase_measured);
  m.measured = ran && group_.all(problem_.empty());
  return heard_by_leader(std::move(m), timing, ran);
}

// The leader hears every rank's problem or wrong result, and keeps how the point was timed.
Measurement PointMeasurement::heard_by_leader(Measurement m, const Timing& timing, bool ran) {
  const std::string who = "rank " + std::to_string(c_.world.rank()) + " (" + here_.host + ")";
  std::string status;
  if (!problem_.empty()) status = who + ": " + problem_;
  else if (ran && !correct_.ok) status = who + ": " + correct_.detail;
  const auto statuses = group_.gather(status);
  m.digests = gather_digests(group_, digest_);
  if (!group_.leader()) return m;
  m.samples = timing.samples;
  m.correct_detail = correct_.detail;
  for (const auto& s : statuses)
    if (!s.empty()) m.complaints += (m.complaints.empty() ? "" : "; ") + s;
  if (m.measured) {
    m.timing = {{"launches_per_batch", timing.batching.launches},
                {"batches_per_repetition", timing.batching.batches},
                {"repetitions", check_.repetitions}};
    m.arrival = arrival_of(timing.late_s, group_);
  }
  return m;
}

}  // namespace

Measurement measure_point(const CheckContext& context, const Check& check, const PointPlan& point, const Group& group) {
  return PointMeasurement(context, check, point, group).run();
}

}  // namespace rackqual
