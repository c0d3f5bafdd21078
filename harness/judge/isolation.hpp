#pragma once
// Culprit isolation: when a collective over a group's members misses its criterion or its
// deadline, adaptive group testing over sub-groups finds which members (slow, or never
// arriving) or which link between two members is at fault. A pure planner: it decides which
// disjoint sub-groups to probe in each round and what their outcomes prove; how a probe runs
// (a collective on sub-communicators, a point-to-point transfer for a pair) is the Prober's.
#include <string>
#include <vector>

namespace rackqual {

struct ProbeOutcome {
  enum class Verdict { pass, slow, hung };
  Verdict verdict = Verdict::pass;
  double figure = 0;              // what the probe measured (busbw, ...); unused when hung
  std::vector<int> missing;       // hung: the members that never arrived
};

// Runs probes; every group of one call is disjoint from the others, so they run at once.
class Prober {
 public:
  virtual ~Prober() = default;
  virtual std::vector<ProbeOutcome> run(const std::vector<std::vector<int>>& groups) = 0;
  // True once no more probes may run (the isolation's deadline has passed): what is still in
  // doubt is left unresolved.
  virtual bool exhausted() const { return false; }
};

// One probe as it ran, for the records: a crew can repeat it by hand.
struct Probe {
  int round = 0;
  std::vector<int> members;   // sorted
  std::string purpose;        // "split", "confirm", "link search", ...
  ProbeOutcome outcome;
};

struct Culprit {
  enum class Kind { slow_member, dead_member, slow_link };
  Kind kind = Kind::slow_member;
  int member = -1;            // the member, or one end of the link
  int peer = -1;              // the other end of a link
  int confirmed_by = -1;      // the index of the probe that confirms it
  std::string reason;
};

struct Isolation {
  std::vector<Probe> probes;
  std::vector<Culprit> culprits;
  std::vector<int> unresolved;   // members left in doubt (no good member to confirm against, a probe limit)
};

// Isolates the faults among `members`, whose collective failed. Every culprit is confirmed by a
// probe of its own against members known good (a pair: the suspect and one good member; a link:
// its two ends, each good with others). Stops after `max_probes` probes.
Isolation isolate(const std::vector<int>& members, Prober& prober, int max_probes = 100000);

// slow_member, dead_member, slow_link: how records name a culprit's kind.
std::string to_string(Culprit::Kind kind);

}  // namespace rackqual
