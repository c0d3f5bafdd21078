#pragma once
// Simulated slowness, for tests and chaos drills: a slow host (--slow-host HOST=FACTOR: every
// operation on its ranks takes FACTOR times as long) and a slow link (--slow-link A,B=FACTOR:
// an operation whose group spans both hosts takes FACTOR times as long on their ranks, as a
// ring is as fast as its slowest hop). Applied to every check and every isolation probe.
#include <memory>
#include <string>
#include <vector>

#include "rackqual/api/backend.hpp"

namespace rackqual {

struct SlowHost {
  std::string host;
  double factor = 1;
};

struct SlowLink {
  std::string a, b;
  double factor = 1;
};

struct Slowdowns {
  std::vector<SlowHost> hosts;
  std::vector<SlowLink> links;
  // The factor for a rank on `host` in a group whose ranks live on `group_hosts`: the largest
  // that applies (1 when none does).
  double factor(const std::string& host, const std::vector<std::string>& group_hosts) const;
  bool empty() const { return hosts.empty() && links.empty(); }
};

// "HOST=FACTOR" and "HOST_A,HOST_B=FACTOR", FACTOR a number > 1; throw FieldError.
SlowHost parse_slow_host(const std::string& text);
SlowLink parse_slow_link(const std::string& text);

// `op`, each launch stretched to `factor` times its own duration (it completes, then sleeps
// for the rest), so that a collective's other ranks wait for it as they would for a slow peer.
// `alone`: the rank is its group's only member, so a launch's time is its own work and is
// stretched as it is; in a collective it also holds the wait for the other ranks, and the
// shortest launch so far stands for the rank's own time.
std::unique_ptr<Op> slowed(std::unique_ptr<Op> op, double factor, bool alone);

}  // namespace rackqual
