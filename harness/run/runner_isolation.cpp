// Culprit isolation inside a run: when a collective group misses its criterion, the isolation
// planner (isolation.hpp) chooses disjoint subsets of its members to probe; every rank takes part
// in each round (subsets as communicators of their own, the failed point measured and judged on
// each), and rank 0 writes every probe as a record, then the culprits it confirmed.
#include <chrono>
#include <set>

#include "rackqual/base/defaults.hpp"
#include "rackqual/judge/isolation.hpp"
#include "rackqual/run/runner.hpp"
#include "rackqual/world/watchdog.hpp"

namespace rackqual {
namespace {

const char* const isolation_done = "done";

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

}  // namespace

std::vector<Record> Runner::isolate_failures(const CheckPlan& plan, const std::vector<Record>& records) {
  const Check& check = *plan.check;
  if (!options_.isolate || check.scope == Scope::gpu || check.kind->min_ranks() < 2) return {};

  // Rank 0 names each point and group whose figure missed its criterion (a wrong result or a
  // failed preparation names its rank already); every rank learns them.
  nlohmann::json failed = nlohmann::json::array();
  if (world_.rank() == 0) {
    std::set<std::pair<std::size_t, std::string>> seen;
    for (const auto& r : records) {
      if (r.verdict != Verdict::fail || !r.value || !r.correct) continue;
      for (std::size_t p = 0; p < plan.points.size(); ++p)
        if (plan.points[p].params.to_json() == r.params && seen.insert({p, r.group}).second)
          failed.push_back({{"point", p}, {"group", r.group}, {"metric", r.metric}, {"rank", r.rank}});
    }
  }
  failed = nlohmann::json::parse(world_.broadcast(failed.dump()));

  std::vector<Record> out;
  for (const auto& f : failed) {
    const PointPlan& point = plan.points.at(f.at("point").get<std::size_t>());
    const auto group = group_members(check.scope, world_.placements(), f.at("rank").get<int>());
    auto records = isolate_group(check, point, group, f.at("metric").get<std::string>());
    out.insert(out.end(), records.begin(), records.end());
  }
  return out;
}

std::vector<Record> Runner::isolate_group(const Check& check, const PointPlan& point, const std::vector<int>& group,
                                          const std::string& metric) {
  const Members members = members_of(group, world_.placements());
  // Two members: every probe would be the group itself; there is nothing to tell apart.
  if (members.names.size() < 3) return {};
  // One round on every rank: this rank's probe, if any, measured and judged; its records on rank 0.
  auto round = [&](const std::vector<std::vector<int>>& sets) {
    std::vector<std::vector<int>> ranks;
    std::vector<std::string> names;
    for (const auto& set : sets) {
      std::vector<int> r;
      for (int i : set) r.insert(r.end(), members.ranks[static_cast<std::size_t>(i)].begin(), members.ranks[static_cast<std::size_t>(i)].end());
      std::sort(r.begin(), r.end());
      ranks.push_back(r);
      names.push_back("probe " + joined(set, members));
    }
    nlohmann::json mine = nullptr;
    if (auto probe = world_.split(ranks, names)) {
      const Measurement m = measure(check, point, *probe);
      if (probe->leader()) {
        const std::size_t index = static_cast<std::size_t>(std::find(names.begin(), names.end(), probe->name()) - names.begin());
        mine = {{"probe", index}, {"records", nlohmann::json::array()}};
        for (const auto& r : judge_point(base_record(check, point.params, *probe), *check.kind, point, m, probe->size()))
          mine["records"].push_back(to_json(r));
      }
    }
    std::vector<std::vector<Record>> results(sets.size());
    for (const auto& text : world_.gather(mine.dump())) {
      const auto j = nlohmann::json::parse(text);
      if (j.is_null()) continue;
      for (const auto& r : j.at("records")) results.at(j.at("probe").get<std::size_t>()).push_back(record_from_json(r));
    }
    return results;
  };

  // Rank 0 plans and asks; every other rank answers each round until told it is done.
  if (world_.rank() != 0) {
    for (;;) {
      const std::string order = world_.broadcast("");
      if (order == isolation_done) return {};
      std::vector<std::vector<int>> sets = nlohmann::json::parse(order);
      round(sets);
    }
  }
  // Isolation has the check's deadline of its own; the watchdog stands behind it.
  const auto started = std::chrono::steady_clock::now();
  watchdog_->begin_check(check_index_, check.id + " (isolation)", check.deadline * defaults::watchdog_factor + defaults::watchdog_grace_s);
  RunProber prober(
      [&](const std::vector<std::vector<int>>& sets) {
        world_.broadcast(nlohmann::json(sets).dump());
        return round(sets);
      },
      metric, started + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(check.deadline)));
  std::vector<int> all(members.names.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  const Isolation found = isolate(all, prober);
  world_.broadcast(isolation_done);

  // Every probe as it ran, then each culprit with the probe that confirms it.
  std::vector<Record> out;
  const std::string group_name = rackqual::group_name(check.scope, world_.placements(), group.front());
  for (std::size_t p = 0; p < found.probes.size(); ++p) {
    const Probe& probe = found.probes[p];
    nlohmann::json what = {{"probe", p + 1},
                           {"round", probe.round},
                           {"purpose", probe.purpose},
                           {"of_group", group_name},
                           {"members", nlohmann::json::array()},
                           {"outcome", to_string(probe.outcome.verdict)}};
    for (int m : probe.members) what["members"].push_back(members.names[static_cast<std::size_t>(m)]);
    for (Record r : prober.probes.at(p)) {
      r.isolation = what;
      out.push_back(std::move(r));
    }
  }
  for (const Culprit& c : found.culprits) {
    Record r = base_record(check, point.params, world_.all());
    const auto& member_ranks = members.ranks[static_cast<std::size_t>(c.member)];
    const Placement& where = world_.placements()[static_cast<std::size_t>(member_ranks.front())];
    r.group = group_name;
    r.rank = member_ranks.front();
    r.host = where.host;
    r.rack = where.rack;
    r.verdict = Verdict::fail;
    const std::string name = members.names[static_cast<std::size_t>(c.member)];
    const std::string probe_no = std::to_string(c.confirmed_by + 1);
    r.isolation = {{"culprit", to_string(c.kind)}, {"member", name}, {"of_group", group_name}, {"confirmed_by", c.confirmed_by + 1}};
    const std::string noun = members.hosts ? "host " : "";
    switch (c.kind) {
      case Culprit::Kind::slow_member:
        r.reason = "culprit: slow " + noun + name + " (confirmed by probe " + probe_no + ")";
        break;
      case Culprit::Kind::dead_member:
        r.reason = "culprit: " + noun + name + " never arrived (confirmed by probe " + probe_no + ")";
        break;
      case Culprit::Kind::slow_link: {
        const std::string peer = members.names[static_cast<std::size_t>(c.peer)];
        r.isolation["peer"] = peer;
        r.reason = "culprit: slow link between " + name + " and " + peer + " (each fine with others; confirmed by probe " + probe_no + ")";
        break;
      }
    }
    if (!c.reason.empty()) r.reason += ": " + c.reason;
    out.push_back(std::move(r));
  }
  if (!found.unresolved.empty()) {
    Record r = base_record(check, point.params, world_.all());
    r.group = group_name;
    r.verdict = Verdict::fail;
    std::string names;
    for (int m : found.unresolved) names += (names.empty() ? "" : ", ") + members.names[static_cast<std::size_t>(m)];
    const bool none_passed = std::none_of(found.probes.begin(), found.probes.end(),
                                          [](const Probe& p) { return p.outcome.verdict == ProbeOutcome::Verdict::pass; });
    r.reason = "isolation left in doubt: " + names + (prober.exhausted() ? " (its deadline passed)" : "") +
               (none_passed ? "; every subset probed misses the criterion alike: no one member or link explains it" : "");
    r.isolation = {{"unresolved", nlohmann::json::array()}, {"of_group", group_name}};
    for (int m : found.unresolved) r.isolation["unresolved"].push_back(members.names[static_cast<std::size_t>(m)]);
    out.push_back(std::move(r));
  }
  if (found.culprits.empty() && found.unresolved.empty()) {
    Record r = base_record(check, point.params, world_.all());
    r.group = group_name;
    r.verdict = Verdict::fail;
    r.reason = "isolation found no culprit: every subset probed met the criterion (" + std::to_string(found.probes.size()) + " probes)";
    r.isolation = {{"culprits", nlohmann::json::array()}, {"of_group", group_name}};
    out.push_back(std::move(r));
  }
  watchdog_->begin_check(check_index_, check.id, check.deadline * defaults::watchdog_factor + defaults::watchdog_grace_s);
  return out;
}

}  // namespace rackqual
