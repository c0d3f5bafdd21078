#pragma once
// The one place the backend is chosen, for `rackqual run` and `qualify`, `rackqual health` and
// Python's rackqual.run. "auto" means cuda when every rank binds a GPU of its own; host when no
// rank sees a GPU, said on stderr and in the manifest; and where some rank sees a GPU but another
// cannot bind one, a set-up error naming each such rank and why: a GPU suite never runs on CPUs
// unannounced. One run never mixes backends.
#include <memory>
#include <string>
#include <vector>

#include "rackqual/api/backend.hpp"
#include "rackqual/world/world.hpp"

namespace rackqual {

// What one rank finds of the cuda backend, and why when it did not bind a GPU.
struct GpuFinding {
  enum class State { bound, unbound, none };   // bound a GPU; sees one but cannot bind it; sees none
  State state = State::none;
  std::string why;
};

// auto's decision from every rank's finding (`hosts`: each rank's host, for naming it).
struct AutoDecision {
  enum class Outcome { cuda, host, error };
  Outcome outcome = Outcome::host;
  std::string text;   // how auto chose (the manifest's backend_choice), or the error
};
AutoDecision decide_auto(const std::vector<GpuFinding>& findings, const std::vector<std::string>& hosts);

struct BackendChoice {
  std::unique_ptr<Backend> backend;   // set up for this rank
  std::string how;                    // how auto chose it; empty when named
};

// Every rank of `world` together: the backend `name`d, or auto's choice, set up for this rank.
// Throws SetupError, the same on every rank.
BackendChoice choose_backend(World& world, const std::string& name);

// Before any rank runs (rackqual health, which launches its own): the backend `name` means on
// this machine and how many GPUs it sees there (0 for host). auto falls back to host only where
// no GPU is visible, with `why`; a named cuda that sees none throws SetupError.
struct LocalBackend {
  std::string name;
  int gpus = 0;
  std::string why;   // why auto fell back to host
};
LocalBackend local_backend(const std::string& name);

}  // namespace rackqual
