#pragma once
// The ranks that take part in one measurement, and the agreements they make.
// Kinds see only this interface; backends reach the MPI communicator through mpi_native.hpp.
#include <memory>
#include <string>
#include <vector>

namespace rackqual {

class Group {
 public:
  struct Impl;
  explicit Group(std::shared_ptr<Impl> impl);

  int rank() const;                // rank within the group
  int size() const;
  int world_rank(int group_rank) const;
  const std::string& name() const;   // host, rack or "cluster"; what a record's `group` names
  bool leader() const { return rank() == 0; }

  void barrier() const;
  bool all(bool ok) const;                                  // true when every rank says true
  double max(double value) const;
  std::vector<double> max_each(const std::vector<double>& values) const;  // element-wise max
  // Every rank's text, on the leader only (others get an empty vector).
  std::vector<std::string> gather(const std::string& text) const;

  const Impl& impl() const { return *impl_; }

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace rackqual
