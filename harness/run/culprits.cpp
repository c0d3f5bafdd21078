#include "rackqual/run/culprits.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "rackqual/base/defaults.hpp"
#include "rackqual/judge/isolation.hpp"
#include "rackqual/judge/judge.hpp"
#include "rackqual/api/exchange.hpp"
#include "rackqual/world/watchdog.hpp"

namespace rackqual {
namespace {

// What isolation tells apart: the hosts of a group that spans several, else its ranks (the GPUs
// of one host). Each member's world ranks, and its name in records.
struct Members {
  std::vector<std::string> names;
  std::vector<std::vector<int>> ranks;
  bool hosts = true;
};

Members members_of(const std::vector<int>& group, const std::vector<Placement>& placements) {
  Members m;
  for (int r : group) {
    const std::string& host = placements[static_cast<std::size_t>(r)].host;
    const auto at = std::find(m.names.begin(), m.names.end(), host);
    if (at == m.names.end()) {
      m.names.push_back(host);
      m.ranks.push_back({r});
    } else {
      m.ranks[static_cast<std::size_t>(at - m.names.begin())].push_back(r);
    }
  }
  if (m.names.size() > 1) return m;
  m = Members{};
  m.hosts = false;
  for (int r : group) {
    m.names.push_back(placements[static_cast<std::size_t>(r)].host + " rank " + std::to_string(r));
    m.ranks.push_back({r});
  }
  return m;
}

std::string joined(const std::vector<int>& set, const Members& m) {
  std::string out;
  for (int i : set) out += (out.empty() ? "" : ",") + m.names[static_cast<std::size_t>(i)];
  return out;
}

std::string to_string(ProbeOutcome::Verdict v) {
  switch (v) {
    case ProbeOutcome::Verdict::pass: return "pass";
    case ProbeOutcome::Verdict::slow: return "slow";
    case ProbeOutcome::Verdict::hung: return "hung";
  }
  return "";
}

// The figure a probe is judged by: the failed record's metric among the probe's records.
ProbeOutcome outcome_of(const std::vector<Record>& records, const std::string& metric) {
  ProbeOutcome o;
  o.verdict = ProbeOutcome::Verdict::pass;
  for (const auto& r : records) {
    if (r.verdict == Verdict::fail || r.verdict == Verdict::error) o.verdict = ProbeOutcome::Verdict::slow;
    if (r.metric == metric && r.value) o.figure = *r.value;
  }
  if (records.empty()) o.verdict = ProbeOutcome::Verdict::slow;
  return o;
}

// Runs each round's probes through every rank; rank 0's side of the exchange.
class RunProber : public Prober {
 public:
  using Round = std::function<std::vector<std::vector<Record>>(const std::vector<std::vector<int>>&)>;
  RunProber(Round round, std::string metric, std::chrono::steady_clock::time_point until)
      : round_(std::move(round)), metric_(std::move(metric)), until_(until) {}

  std::vector<ProbeOutcome> run(const std::vector<std::vector<int>>& groups) override {
    std::vector<ProbeOutcome> out;
    for (auto& records : round_(groups)) {
      out.push_back(outcome_of(records, metric_));
      probes.push_back(std::move(records));
    }
    return out;
  }
  bool exhausted() const override { return std::chrono::steady_clock::now() > until_; }

  std::vector<std::vector<Record>> probes;   // every probe's records, in the planner's order

 private:
  Round round_;
  std::string metric_;
  std::chrono::steady_clock::time_point until_;
};

// A point and group whose figure missed its criterion, as rank 0 names it to every rank.
struct FailedPoint {
  std::size_t point = 0;
  std::string group;
  std::string metric;
  int rank = 0;   // a world rank of the group
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(FailedPoint, point, group, metric, rank)

// Rank 0's order for a round: the probes' member sets, or that isolation is done.
struct Order {
  bool done = false;
  std::vector<std::vector<int>> sets;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Order, done, sets)

// A probe leader's reply: which probe of the round, and its records (probe -1: this rank led none).
struct ProbeReply {
  int probe = -1;
  std::vector<Record> records;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ProbeReply, probe, records)

// Isolating one failed group at one point, on every rank.
class GroupIsolation {
 public:
  GroupIsolation(const CheckContext& context, const Check& check, const PointPlan& point, const std::vector<int>& group,
                 std::string metric)
      : c_(context), check_(check), point_(point), metric_(std::move(metric)),
        members_(members_of(group, context.world.placements())),
        group_name_(rackqual::group_name(check.scope, context.world.placements(), group.front())) {}

  std::vector<Record> run() {
    // Two members: every probe would be the group itself; there is nothing to tell apart.
    if (members_.names.size() < 3) return {};
    if (c_.world.rank() != 0) {
      follow();
      return {};
    }
    return lead();
  }

 private:
  std::vector<std::vector<Record>> round(const std::vector<std::vector<int>>& sets) const;
  void follow() const;
  std::vector<Record> lead() const;
  std::vector<Record> probe_records(const Isolation& found, const RunProber& prober) const;
  Record culprit_record(const Culprit& c) const;
  std::vector<Record> doubt_records(const Isolation& found, const RunProber& prober) const;
  // The watchdog's limit for `what`, from the check's deadline (isolation has one of its own).
  void watch(const std::string& what) const {
    c_.watchdog.begin_check(c_.check_index, what, check_.deadline * defaults::watchdog_factor + defaults::watchdog_grace_s);
  }

  const CheckContext& c_;
  const Check& check_;
  const PointPlan& point_;
  std::string metric_;
  Members members_;
  std::string group_name_;
};

// One round on every rank: this rank's probe, if any, measured and judged; its records on rank 0.
std::vector<std::vector<Record>> GroupIsolation::round(const std::vector<std::vector<int>>& sets) const {
  std::vector<std::vector<int>> ranks;
  std::vector<std::string> names;
  for (const auto& set : sets) {
    std::vector<int> r;
    for (int i : set) {
      const auto& member = members_.ranks[static_cast<std::size_t>(i)];
      r.insert(r.end(), member.begin(), member.end());
    }
    std::sort(r.begin(), r.end());
    ranks.push_back(r);
    names.push_back("probe " + joined(set, members_));
  }
  ProbeReply mine;
  if (auto probe = c_.world.split(ranks, names)) {
    // The probe's group ends with its round: the backend frees what it keeps for it.
    const Measurement m = [&] {
      try {
        return measure_point(c_, check_, point_, *probe);
      } catch (...) {
        c_.backend.release(*probe, true);
        throw;
      }
    }();
    c_.backend.release(*probe);
    if (probe->leader()) {
      mine.probe = static_cast<int>(std::find(names.begin(), names.end(), probe->name()) - names.begin());
      mine.records = judge_point(c_.records.base(check_, point_.params, *probe), *check_.kind, point_, m, probe->size());
    }
  }
  std::vector<std::vector<Record>> results(sets.size());
  for (ProbeReply& reply : gather_values(c_.world.all(), mine))
    if (reply.probe >= 0) results.at(static_cast<std::size_t>(reply.probe)) = std::move(reply.records);
  return results;
}

// Every rank but 0 answers each round until told isolation is done.
void GroupIsolation::follow() const {
  for (;;) {
    const Order order = broadcast_value(c_.world.all(), Order{});
    if (order.done) return;
    round(order.sets);
  }
}

// Rank 0 plans and asks, within the check's deadline; then every probe as it ran, each culprit
// with the probe that confirms it, and what stayed in doubt.
std::vector<Record> GroupIsolation::lead() const {
  const auto started = std::chrono::steady_clock::now();
  watch(check_.id + " (isolation)");
  RunProber prober(
      [&](const std::vector<std::vector<int>>& sets) {
        broadcast_value(c_.world.all(), Order{false, sets});
        return round(sets);
      },
      metric_, started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(check_.deadline)));
  std::vector<int> all(members_.names.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  const Isolation found = isolate(all, prober);
  broadcast_value(c_.world.all(), Order{true, {}});

  std::vector<Record> out = probe_records(found, prober);
  for (const Culprit& c : found.culprits) out.push_back(culprit_record(c));
  for (Record& r : doubt_records(found, prober)) out.push_back(std::move(r));
  watch(check_.id);
  return out;
}

// Every probe's records, each saying what it tested and how it came out.
std::vector<Record> GroupIsolation::probe_records(const Isolation& found, const RunProber& prober) const {
  std::vector<Record> out;
  for (std::size_t p = 0; p < found.probes.size(); ++p) {
    const Probe& probe = found.probes[p];
    nlohmann::json what = {{"probe", p + 1},
                           {"round", probe.round},
                           {"purpose", probe.purpose},
                           {"of_group", group_name_},
                           {"members", nlohmann::json::array()},
                           {"outcome", to_string(probe.outcome.verdict)}};
    for (int m : probe.members) what["members"].push_back(members_.names[static_cast<std::size_t>(m)]);
    for (Record r : prober.probes.at(p)) {
      r.isolation = what;
      out.push_back(std::move(r));
    }
  }
  return out;
}

// A culprit as a failed record of the member (its first rank) that names the probe confirming it.
Record GroupIsolation::culprit_record(const Culprit& c) const {
  const std::string name = members_.names[static_cast<std::size_t>(c.member)];
  const std::string probe_no = std::to_string(c.confirmed_by + 1);
  const std::string noun = members_.hosts ? "host " : "";
  nlohmann::json isolation = {{"culprit", to_string(c.kind)}, {"member", name}, {"of_group", group_name_},
                              {"confirmed_by", c.confirmed_by + 1}};
  std::string reason;
  switch (c.kind) {
    case Culprit::Kind::slow_member:
      reason = "culprit: slow " + noun + name + " (confirmed by probe " + probe_no + ")";
      break;
    case Culprit::Kind::dead_member:
      reason = "culprit: " + noun + name + " never arrived (confirmed by probe " + probe_no + ")";
      break;
    case Culprit::Kind::slow_link: {
      const std::string peer = members_.names[static_cast<std::size_t>(c.peer)];
      isolation["peer"] = peer;
      reason = "culprit: slow link between " + name + " and " + peer + " (each fine with others; confirmed by probe " + probe_no + ")";
      break;
    }
  }
  if (!c.reason.empty()) reason += ": " + c.reason;
  const int rank = members_.ranks[static_cast<std::size_t>(c.member)].front();
  Record r = c_.records.of_rank(check_, point_.params, group_name_, rank, Verdict::fail, std::move(reason));
  r.isolation = std::move(isolation);
  return r;
}

// What isolation could not settle: the members left in doubt, or that no culprit was found.
std::vector<Record> GroupIsolation::doubt_records(const Isolation& found, const RunProber& prober) const {
  std::vector<Record> out;
  auto group_record = [&](std::string reason) {
    Record r = c_.records.judged(check_, point_.params, c_.world.all(), Verdict::fail, std::move(reason));
    r.group = group_name_;
    return r;
  };
  if (!found.unresolved.empty()) {
    std::string names;
    for (int m : found.unresolved) names += (names.empty() ? "" : ", ") + members_.names[static_cast<std::size_t>(m)];
    const bool none_passed = std::none_of(found.probes.begin(), found.probes.end(),
                                          [](const Probe& p) { return p.outcome.verdict == ProbeOutcome::Verdict::pass; });
    Record r = group_record("isolation left in doubt: " + names + (prober.exhausted() ? " (its deadline passed)" : "") +
                            (none_passed ? "; every subset probed misses the criterion alike: no one member or link explains it" : ""));
    r.isolation = {{"unresolved", nlohmann::json::array()}, {"of_group", group_name_}};
    for (int m : found.unresolved) r.isolation["unresolved"].push_back(members_.names[static_cast<std::size_t>(m)]);
    out.push_back(std::move(r));
  }
  if (found.culprits.empty() && found.unresolved.empty()) {
    Record r = group_record("isolation found no culprit: every subset probed met the criterion (" +
                            std::to_string(found.probes.size()) + " probes)");
    r.isolation = {{"culprits", nlohmann::json::array()}, {"of_group", group_name_}};
    out.push_back(std::move(r));
  }
  return out;
}

// Rank 0 names each point and group whose figure missed its criterion (a wrong result or a
// failed preparation names its rank already).
std::vector<FailedPoint> failed_points(const CheckPlan& plan, const std::vector<Record>& records) {
  std::vector<FailedPoint> out;
  std::set<std::pair<std::size_t, std::string>> seen;
  for (const auto& r : records) {
    if (r.verdict != Verdict::fail || !r.value || !r.correct) continue;
    for (std::size_t p = 0; p < plan.points.size(); ++p)
      if (plan.points[p].params.to_json() == r.params && seen.insert({p, r.group}).second)
        out.push_back({p, r.group, r.metric, r.rank});
  }
  return out;
}

}  // namespace

std::vector<Record> isolate_failures(const CheckContext& context, const CheckPlan& plan, const std::vector<Record>& records) {
  const Check& check = *plan.check;
  if (!context.options.isolate || check.scope == Scope::gpu || check.kind->min_ranks() < 2) return {};
  const World& world = context.world;
  const auto failed = broadcast_value(world.all(), world.rank() == 0 ? failed_points(plan, records) : std::vector<FailedPoint>{});
  std::vector<Record> out;
  for (const FailedPoint& f : failed) {
    const auto group = group_members(check.scope, world.placements(), f.rank);
    auto found = GroupIsolation(context, check, plan.points.at(f.point), group, f.metric).run();
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace rackqual
