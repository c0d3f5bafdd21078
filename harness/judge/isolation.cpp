// Adaptive group testing. Work items, each turned into at most one probe per round, all of a
// round's probes disjoint:
//   split S   S fails (observed, or inferred from its parent failing while its sibling
//             passed): probe its first half, then the second only when the first fails (an
//             observed parent) or always (an inferred one); recurse into the failing halves.
//   check S   probe S itself (what is left of a group after a member never arrived; an inferred
//             set whose halves both pass).
//   confirm m a single suspect against a member known good: {m, g}. Slow with g, it is probed
//             with a second good member: slow again, it is slow; good, the link to g is slow.
//   link A B  A and B each pass, A u B fails: halve A, then B, probing each half with the other
//             side, down to one pair {a, b}, whose own probe confirms the link.
// A member that never arrives is named by the hung probe and confirmed like any suspect.
#include "rackqual/judge/isolation.hpp"

#include <algorithm>
#include <deque>
#include <optional>
#include <set>

namespace rackqual {
namespace {

using Verdict = ProbeOutcome::Verdict;
using Set = std::vector<int>;

struct Item {
  enum class Type { split, check, confirm, link };
  Type type;
  Set a, b;                       // split/check: a; confirm: a = {m}; link: a, b
  bool observed = true;           // split: the set's own failure was seen (not inferred)
  Set sibling;                    // split/check of an inferred set: the sibling that passed
  bool expect_dead = false;       // confirm: the suspect never arrived
  bool inferred_pair = false;     // confirm: inferred to fail while its sibling (b) passed
  int stage = 0;                  // split: 0 first half next, 1 second half next
  int partner = -1;               // confirm: the good member the suspect was already slow with
  int partner_probe = -1;         //          and that probe (a slow link to it, or a slow suspect?)
};

Set halve(const Set& s, bool first) {
  const auto mid = s.begin() + static_cast<std::ptrdiff_t>(s.size() / 2);
  return first ? Set(s.begin(), mid) : Set(mid, s.end());
}

Set join(Set a, const Set& b) {
  a.insert(a.end(), b.begin(), b.end());
  std::sort(a.begin(), a.end());
  return a;
}

Set without(const Set& s, const std::vector<int>& out) {
  Set r;
  for (int m : s)
    if (std::find(out.begin(), out.end(), m) == out.end()) r.push_back(m);
  return r;
}

class Planner {
 public:
  Planner(Prober& prober, int max_probes) : prober_(prober), max_probes_(max_probes) {}

  Isolation run(const Set& members) {
    Set all = members;
    std::sort(all.begin(), all.end());
    work_.push_back({Item::Type::split, all, {}, true, {}, false, false, 0});
    while (!work_.empty() && static_cast<int>(result_.probes.size()) < max_probes_ && !prober_.exhausted()) {
      // Nothing could be scheduled: no member is known good to confirm against yet.
      if (!round() && !seek_good()) break;
    }
    for (const auto& item : work_)
      for (int m : join(item.a, item.b)) result_.unresolved.push_back(m);
    std::sort(result_.unresolved.begin(), result_.unresolved.end());
    result_.unresolved.erase(std::unique(result_.unresolved.begin(), result_.unresolved.end()), result_.unresolved.end());
    return result_;
  }

 private:
  // What one round probes: disjoint groups, each with the item it serves and its purpose.
  struct Round {
    std::set<int> busy;
    std::vector<Set> groups;
    std::vector<Item> items;
    std::vector<std::string> purposes;
  };

  // How an item goes this round: probed with `group`, known to pass already (a half of known
  // good members), or deferred until a member known good is free.
  struct Step {
    enum class Type { probe, known_good, wait };
    Type type = Type::probe;
    Set group;
    std::string purpose;
  };

  // One round: every item that can go gets its probe; returns false when none could.
  bool round() {
    Round next;
    std::vector<Item> deferred;
    auto free = [&](const Set& s) { return std::none_of(s.begin(), s.end(), [&](int m) { return next.busy.count(m); }); };
    while (!work_.empty()) {
      Item item = work_.front();
      work_.pop_front();
      if (item.type == Item::Type::split && item.a.size() == 1) {
        // A single member inferred to fail: confirmed against a good member; if it passes, the
        // fault runs between it and the sibling that passed.
        const bool inferred = !item.observed;
        item = Item{Item::Type::confirm, item.a, inferred ? item.sibling : Set{}, true, {}, false, inferred, 0};
      }
      const Step step = step_of(item, next.busy);
      if (step.type == Step::Type::known_good) {
        take(item, step.group, ProbeOutcome{}, -1);   // passes without a probe
        continue;
      }
      if (step.type == Step::Type::wait || !free(step.group) ||
          static_cast<int>(result_.probes.size() + next.groups.size()) >= max_probes_) {
        deferred.push_back(item);
        continue;
      }
      next.busy.insert(step.group.begin(), step.group.end());
      next.groups.push_back(step.group);
      next.purposes.push_back(step.purpose);
      next.items.push_back(item);
    }
    for (auto& d : deferred) work_.push_back(d);
    if (next.groups.empty()) return false;
    run_probes(next);
    return true;
  }

  // The group that probes `item` this round, given the members already busy in it.
  Step step_of(const Item& item, const std::set<int>& busy) const {
    Step step;
    switch (item.type) {
      case Item::Type::split: {
        // A half of one member cannot run a collective alone: it goes with a member known good.
        step.group = halve(item.a, item.stage == 0);
        step.purpose = "split";
        if (std::all_of(step.group.begin(), step.group.end(), [&](int m) { return good_.count(m) > 0; }))
          step.type = Step::Type::known_good;
        else if (step.group.size() == 1) {
          const int g = good_partner(busy, step.group.front(), -1);
          if (g < 0) step.type = Step::Type::wait;
          else step.group = join(step.group, {g});
        }
        break;
      }
      case Item::Type::check: step.group = item.a; step.purpose = "check"; break;
      case Item::Type::link:
        step.group = item.a.size() > 1 ? join(halve(item.a, true), item.b) : join(item.a, halve(item.b, true));
        if (item.a.size() == 1 && item.b.size() == 1) step.group = join(item.a, item.b);
        step.purpose = item.a.size() == 1 && item.b.size() == 1 ? "confirm link" : "link search";
        break;
      case Item::Type::confirm: {
        const int g = good_partner(busy, item.a.front(), item.partner);
        if (g < 0) step.type = Step::Type::wait;
        else step.group = join(item.a, {g});
        step.purpose = item.expect_dead ? "confirm never arrives" : "confirm";
        break;
      }
    }
    return step;
  }

  // Runs a round's probes at once and takes what each outcome proves.
  void run_probes(const Round& next) {
    const auto outcomes = prober_.run(next.groups);
    const int r = ++rounds_;
    for (std::size_t i = 0; i < next.groups.size(); ++i) {
      result_.probes.push_back({r, next.groups[i], next.purposes[i], outcomes.at(i)});
      take(next.items[i], next.groups[i], outcomes[i], static_cast<int>(result_.probes.size()) - 1);
    }
  }

  // When every probe so far held a fault: pairs of members still in doubt, probed at once, so that
  // one that passes gives members known good. False when none passes.
  // Members named by a hung probe are left out; each attempt pairs members a stride further apart.
  bool seek_good() {
    if (prober_.exhausted()) return false;
    std::set<int> doubt_set;
    for (const auto& item : work_)
      if (!(item.type == Item::Type::confirm && item.expect_dead))
        for (int m : join(item.a, item.b)) doubt_set.insert(m);
    for (const auto& c : result_.culprits) doubt_set.erase(c.member);
    const Set doubt(doubt_set.begin(), doubt_set.end());
    const std::size_t stride = static_cast<std::size_t>(++seek_attempts_);
    if (stride >= doubt.size()) return false;
    std::vector<Set> pairs;
    std::set<int> taken;
    for (std::size_t i = 0; i + stride < doubt.size(); ++i) {
      const int a = doubt[i], b = doubt[i + stride];
      if (taken.count(a) || taken.count(b)) continue;
      if (static_cast<int>(result_.probes.size() + pairs.size()) >= max_probes_) break;
      taken.insert(a);
      taken.insert(b);
      pairs.push_back({a, b});
    }
    if (pairs.empty()) return false;
    const auto outcomes = prober_.run(pairs);
    const int r = ++rounds_;
    bool found = false;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      result_.probes.push_back({r, pairs[i], "seek a good member", outcomes.at(i)});
      if (outcomes[i].verdict == Verdict::pass) {
        mark_good(pairs[i]);
        found = true;
      }
    }
    return found || seek_good();
  }

  // A member known good, not busy this round, other than `not_this`; -1 when none.
  int good_partner(const std::set<int>& busy, int not_this, int nor_this) const {
    for (int g : good_)
      if (!busy.count(g) && g != not_this && g != nor_this) return g;
    return -1;
  }

  void mark_good(const Set& s) { good_.insert(s.begin(), s.end()); }

  // `m` was slow in `pair` with a good member: probe it with another.
  void confirm_again(int m, const Set& pair, int probe) {
    Item again{Item::Type::confirm, {m}, {}, true, {}, false, false, 0};
    again.partner = pair.front() == m ? pair.back() : pair.front();
    again.partner_probe = probe;
    work_.push_back(again);
  }

  // What one probe's outcome proves, and the work it leaves.
  void take(const Item& item, const Set& group, const ProbeOutcome& out, int probe) {
    const bool pass = out.verdict == Verdict::pass;
    if (pass) mark_good(group);
    if (out.verdict == Verdict::hung && item.type != Item::Type::confirm) {
      take_hung(item, group, out);
      return;
    }
    switch (item.type) {
      case Item::Type::split: take_split(item, group, pass, probe); break;
      case Item::Type::check:
        if (!pass) work_.push_back({Item::Type::split, item.a, {}, true, {}, false, false, 0});
        else if (!item.sibling.empty())   // an inferred set that passes: the link runs to its sibling
          work_.push_back({Item::Type::link, item.sibling, item.a, true, {}, false, false, 0});
        break;
      case Item::Type::confirm: take_confirm(item, group, out, probe); break;
      case Item::Type::link: take_link(item, out, pass, probe); break;
    }
  }

  // A probe that hung (not a confirm's): who never arrived is named; what is left of the group
  // is unknown until probed again.
  void take_hung(const Item& item, const Set& group, const ProbeOutcome& out) {
    for (int m : out.missing) work_.push_back({Item::Type::confirm, {m}, {}, true, {}, true, false, 0});
    const Set rest = without(group, out.missing);
    if (rest.size() >= 2) work_.push_back({Item::Type::check, rest, {}, true, {}, false, false, 0});
    else if (rest.size() == 1) work_.push_back({Item::Type::confirm, rest, {}, true, {}, false, false, 0});
    if (item.type == Item::Type::split && item.stage == 0)   // the other half is still to be probed
      work_.push_back({Item::Type::check, halve(item.a, false), {}, true, {}, false, false, 0});
    else if (item.type == Item::Type::link) {
      Item again = item;   // search again without the members that never arrive
      again.a = without(item.a, out.missing);
      again.b = without(item.b, out.missing);
      if (!again.a.empty() && !again.b.empty()) work_.push_back(again);
    }
  }

  // A split's half probed: recurse into the halves that fail, or look between them.
  void take_split(const Item& item, const Set& group, bool pass, int probe) {
    const Set first = halve(item.a, true), second = halve(item.a, false);
    const Set& probed = item.stage == 0 ? first : second;
    Item rest = item;   // the same set, its second half next
    rest.stage = 1;
    if (!pass && probed.size() == 1) {
      // One member slow with a member known good: slow itself, or the link between them.
      confirm_again(probed.front(), group, probe);
      if (item.stage == 0) work_.push_back(rest);
      return;
    }
    if (item.stage == 0) {
      if (!pass) {
        work_.push_back({Item::Type::split, first, {}, true, second, false, false, 0});
        work_.push_back(rest);   // the second half must be probed too
      } else if (item.observed) {
        // The set fails and its first half passes: the fault is in the second half, or
        // between the halves.
        work_.push_back({Item::Type::split, second, {}, false, first, false, false, 0});
      } else {
        work_.push_back(rest);
      }
      return;
    }
    // Stage 1: the second half's own outcome.
    const bool first_passed = std::all_of(first.begin(), first.end(), [&](int m) { return good_.count(m) > 0; });
    if (!pass) work_.push_back({Item::Type::split, second, {}, true, first, false, false, 0});
    else if (first_passed) {
      // Both halves pass: if the set's failure was seen, the fault is a link between them;
      // if it was inferred, the set itself is probed first.
      if (item.observed) work_.push_back({Item::Type::link, first, second, true, {}, false, false, 0});
      else work_.push_back({Item::Type::check, item.a, {}, true, item.sibling, false, false, 0});
    }
  }

  // A culprit named, with the probe that confirms it and why. Not inlined: GCC 12 inlining the
  // reason's copy into the callers reports a false out-of-bounds memcpy (-Warray-bounds).
  [[gnu::noinline]] void name_culprit(Culprit::Kind kind, int member, int peer, int probe, std::string reason) {
    Culprit c;
    c.kind = kind;
    c.member = member;
    c.peer = peer;
    c.confirmed_by = probe;
    c.reason = std::move(reason);
    result_.culprits.push_back(std::move(c));
  }

  // A suspect probed with a member known good: a culprit named, or the work that decides.
  void take_confirm(const Item& item, const Set& group, const ProbeOutcome& out, int probe) {
    const int m = item.a.front();
    if (out.verdict == Verdict::hung && std::find(out.missing.begin(), out.missing.end(), m) != out.missing.end()) {
      name_culprit(Culprit::Kind::dead_member, m, -1, probe, "never arrives, with a member known good");
    } else if (out.verdict == Verdict::slow && item.partner >= 0) {
      name_culprit(Culprit::Kind::slow_member, m, -1, probe, "slow with two members known good");
    } else if (out.verdict == Verdict::slow) {
      confirm_again(m, group, probe);
    } else if (item.partner >= 0) {
      name_culprit(Culprit::Kind::slow_link, std::min(m, item.partner), std::max(m, item.partner),
                                  item.partner_probe, "slow as a pair, each end good with others");
    } else if (out.verdict == Verdict::hung) {
      // The good partner did not arrive this time: it is a suspect now; this one goes again.
      for (int g : out.missing) {
        good_.erase(g);
        work_.push_back({Item::Type::confirm, {g}, {}, true, {}, true, false, 0});
      }
      work_.push_back(item);
    } else if (item.inferred_pair && !item.b.empty()) {
      // Inferred to fail, yet good with a good member: the fault is a link to the sibling.
      work_.push_back({Item::Type::link, item.b, item.a, true, {}, false, false, 0});
    }
  }

  // A link search: the side being halved keeps the half that fails, down to one pair.
  void take_link(const Item& item, const ProbeOutcome& out, bool pass, int probe) {
    if (item.a.size() == 1 && item.b.size() == 1) {
      if (out.verdict == Verdict::slow)
        name_culprit(Culprit::Kind::slow_link, item.a.front(), item.b.front(), probe,
                                    "slow as a pair, each end good with others");
      return;
    }
    Set a = item.a, b = item.b;
    if (a.size() > 1) a = pass ? halve(a, false) : halve(a, true);
    else b = pass ? halve(b, false) : halve(b, true);
    work_.push_back({Item::Type::link, a, b, true, {}, false, false, 0});
  }

  Prober& prober_;
  int max_probes_;
  int rounds_ = 0;
  int seek_attempts_ = 0;
  std::deque<Item> work_;
  std::set<int> good_;
  Isolation result_;
};

}  // namespace

Isolation isolate(const std::vector<int>& members, Prober& prober, int max_probes) {
  return Planner(prober, max_probes).run(members);
}

std::string to_string(Culprit::Kind kind) {
  switch (kind) {
    case Culprit::Kind::slow_member: return "slow_member";
    case Culprit::Kind::dead_member: return "dead_member";
    case Culprit::Kind::slow_link: return "slow_link";
  }
  return "?";
}

}  // namespace rackqual
