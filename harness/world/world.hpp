#pragma once
// All ranks of the run, where each one lives, and the groups each scope forms. An interface:
// MpiWorld (mpi_world.hpp) in a real run, FakeWorld (fake_world.hpp) in unit tests.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rackqual/api/group.hpp"
#include "rackqual/base/scope.hpp"
#include "rackqual/base/topology.hpp"

namespace rackqual {

// Small messages from every rank to rank 0 that never meet a benchmark's traffic: how the
// deadline watchdog learns where each rank has arrived.
class ArrivalChannel {
 public:
  virtual ~ArrivalChannel() = default;
  // Any rank but 0: tells rank 0 it has arrived at (index, phase).
  virtual void send(int index, int phase) = 0;
  // Rank 0: takes one message that has come in, without waiting; false when none has.
  virtual bool try_receive(int& from, int& index, int& phase) = 0;
  // Every rank, together: rank 0 takes every message still in flight.
  virtual void close(const std::function<void(int from, int index, int phase)>& take) = 0;
};

// Thrown out of a collective on every live rank when rank 0 gives up on ranks that never
// arrived (World::abandon). Not a std::exception on purpose: no catch of a measurement's own
// failures may take it for one; the runner catches it, excludes the ranks and goes on.
struct Abandoned {
  std::vector<int> ranks;
};

class World {
 public:
  virtual ~World() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual const std::vector<Placement>& placements() const = 0;
  const Placement& placement() const { return placements()[static_cast<std::size_t>(rank())]; }
  std::vector<std::string> hosts() const { return hosts_of(placements()); }
  // What each rank reported of itself at start-up (index = world rank): how it is placed
  // until place() is called.
  virtual const std::vector<HostAndRack>& identities() const = 0;

  // Places every rank by the run's topology (topology.hpp): the simulation, else the inventory
  // (rank 0 reads it, every rank parses the same text), else what each rank reported. Every
  // rank together, before any group but the cluster's is built; throws the same InputError or
  // FieldError on every rank.
  void place(const TopologyOptions& options);
  // Every rank's NVLink domain as its backend reports it (nothing: none), taken by every rank
  // together before any group but the cluster's is built; a domain the inventory names stays.
  void take_nvlink_domains(const std::optional<std::string>& mine);
  // The topology for the run manifest (describe_topology).
  nlohmann::json topology() const;

  // This rank's group for a scope (built once, then kept).
  virtual const Group& group(Scope scope) const = 0;
  const Group& all() const { return group(Scope::cluster); }
  // Disjoint groups of world ranks (each sorted) as communicators of their own: collective over
  // every rank of all(), each passing the same `groups` and `names`. Returns this rank's group,
  // or null when it is in none. How isolation probes a subset of a failed group.
  virtual std::unique_ptr<Group> split(const std::vector<std::vector<int>>& groups,
                                       const std::vector<std::string>& names) const = 0;

  // Every rank's text, on rank 0 only.
  std::vector<std::string> gather(const std::string& text) const { return all().gather(text); }
  // Rank 0's text, on every rank.
  std::string broadcast(const std::string& text) const { return all().broadcast(text); }
  int max(int value) const { return static_cast<int>(all().max(value)); }

  virtual std::unique_ptr<ArrivalChannel> arrival_channel() const = 0;
  // Whether the ranks are simulated threads of one process (what a process keeps once, such as
  // Google Benchmark's registry, is then shared by every rank).
  virtual bool simulated() const { return false; }
  // Ends every rank at once: the last resort for a hung collective.
  [[noreturn]] virtual void abort(int code) const = 0;

  // Going on without ranks that never arrive. Where a world can: rank 0 (any thread) gives up
  // on `ranks`, and every other live rank's next or current collective throws Abandoned; then
  // every live rank calls exclude(ranks) together, and from there on groups hold live ranks only.
  // Each group built before is passed to `retired` as it leaves use (its peers may be gone).
  virtual bool can_exclude() const { return false; }
  virtual void abandon(const std::vector<int>& ranks) const;
  virtual void exclude(const std::vector<int>& ranks, const std::function<void(const Group&)>& retired = {});
  // The ranks excluded so far, in world ranks.
  virtual const std::vector<int>& excluded() const;

 protected:
  // Replaces every rank's placement, the same on every rank; throws std::logic_error once a
  // group other than the cluster's (which placements do not change) is built.
  virtual void set_placements(std::vector<Placement> placements) = 0;

 private:
  TopologyOptions topology_;
};

// The world of a real run: starts MPI and learns the topology (MpiWorld, in world/mpi_world.hpp,
// which only the world layer and the backends include).
std::unique_ptr<World> start_mpi_world(int* argc, char*** argv);

}  // namespace rackqual
