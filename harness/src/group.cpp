#include "rackqual/group.hpp"

#include "group_impl.hpp"
#include "rackqual/mpi_native.hpp"

namespace rackqual {

Group::Group(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

int Group::rank() const { return impl_->rank; }
int Group::size() const { return impl_->size; }
int Group::world_rank(int group_rank) const { return impl_->world_ranks.at(group_rank); }
const std::string& Group::name() const { return impl_->name; }

void Group::barrier() const { MPI_Barrier(impl_->comm); }

bool Group::all(bool ok) const {
  int mine = ok ? 1 : 0, every = 0;
  MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_MIN, impl_->comm);
  return every == 1;
}

double Group::max(double value) const {
  double out = 0;
  MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, impl_->comm);
  return out;
}

std::vector<double> Group::max_each(const std::vector<double>& values) const {
  std::vector<double> out(values.size());
  MPI_Allreduce(values.data(), out.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MAX, impl_->comm);
  return out;
}

std::vector<std::string> Group::gather(const std::string& text) const { return gather_text(impl_->comm, text); }

std::vector<std::string> gather_text(MPI_Comm comm, const std::string& text) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(rank == 0 ? size : 0), offsets(rank == 0 ? size : 0);
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, comm);
  std::string all;
  if (rank == 0) {
    int total = 0;
    for (int i = 0; i < size; ++i) {
      offsets[i] = total;
      total += lengths[i];
    }
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, 0, comm);
  std::vector<std::string> out;
  for (int i = 0; rank == 0 && i < size; ++i) out.push_back(all.substr(offsets[i], lengths[i]));
  return out;
}

MPI_Comm native_comm(const Group& group) { return group.impl().comm; }

}  // namespace rackqual
