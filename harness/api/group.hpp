#pragma once
// The ranks that take part in one measurement, and the agreements they make. An interface:
// MPI communicators in a real run (mpi_world.hpp), simulated ranks in one process in unit tests
// (fake_world.hpp). Kinds see only this; backends reach MPI through mpi_native.hpp.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace rackqual {

class Group {
 public:
  Group();
  virtual ~Group() = default;
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  // This process's name for the group, given to no other group of the process, even after this
  // one ends: the key of what a backend keeps per group. Not the same across ranks.
  std::uint64_t id() const { return id_; }

  virtual int rank() const = 0;               // rank within the group
  virtual int size() const = 0;
  virtual int world_rank(int group_rank) const = 0;
  virtual const std::string& name() const = 0;   // host, rack or "cluster"; what a record's `group` names
  bool leader() const { return rank() == 0; }

  virtual void barrier() const = 0;
  // Element-wise maximum over the group's ranks, on every rank.
  virtual std::vector<double> max_each(const std::vector<double>& values) const = 0;
  // Every rank's values, concatenated in rank order, on every rank (each rank gives as many).
  virtual std::vector<double> all_gather(const std::vector<double>& values) const = 0;
  // Every rank's text, on the leader only (others get an empty vector).
  virtual std::vector<std::string> gather(const std::string& text) const = 0;
  // `root`'s text, on every rank.
  virtual std::string broadcast(const std::string& text, int root = 0) const = 0;

  bool all(bool ok) const;       // true when every rank says true
  double max(double value) const;
  // The largest value over the ranks and the lowest rank that holds it, on every rank.
  std::pair<double, int> slowest(double value) const;

 private:
  std::uint64_t id_;
};

}  // namespace rackqual
