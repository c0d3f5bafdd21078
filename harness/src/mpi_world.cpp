// The MPI world: ranks, placements from every rank's identity, one communicator per group,
// and the watchdog's arrival channel on a communicator of its own.
#include "rackqual/mpi_world.hpp"

#include <cstdlib>
#include <stdexcept>

#include "rackqual/error.hpp"
#include "rackqual/mpi_native.hpp"

namespace rackqual {
namespace {

// Every rank's text on rank 0 of `comm` (empty elsewhere).
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

std::string broadcast_text(MPI_Comm comm, const std::string& text, int root) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  int length = static_cast<int>(text.size());
  MPI_Bcast(&length, 1, MPI_INT, root, comm);
  std::string out = rank == root ? text : std::string(static_cast<std::size_t>(length), '\0');
  MPI_Bcast(out.data(), length, MPI_CHAR, root, comm);
  return out;
}

class MpiGroup : public Group {
 public:
  MpiGroup(MPI_Comm comm, std::vector<int> world_ranks, std::string name)
      : comm_(comm), world_ranks_(std::move(world_ranks)), name_(std::move(name)) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiGroup() override { MPI_Comm_free(&comm_); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int world_rank(int group_rank) const override { return world_ranks_.at(static_cast<std::size_t>(group_rank)); }
  const std::string& name() const override { return name_; }
  void barrier() const override { MPI_Barrier(comm_); }
  std::vector<double> max_each(const std::vector<double>& values) const override {
    std::vector<double> out(values.size());
    MPI_Allreduce(values.data(), out.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MAX, comm_);
    return out;
  }
  std::vector<double> all_gather(const std::vector<double>& values) const override {
    std::vector<double> out(values.size() * static_cast<std::size_t>(size_));
    const int n = static_cast<int>(values.size());
    MPI_Allgather(values.data(), n, MPI_DOUBLE, out.data(), n, MPI_DOUBLE, comm_);
    return out;
  }
  std::vector<std::string> gather(const std::string& text) const override { return gather_text(comm_, text); }
  std::string broadcast(const std::string& text, int root) const override { return broadcast_text(comm_, text, root); }

  MPI_Comm comm() const { return comm_; }

 private:
  MPI_Comm comm_;
  std::vector<int> world_ranks_;
  std::string name_;
  int rank_ = 0, size_ = 1;
};

constexpr int arrival_tag = 7;

class MpiArrivals : public ArrivalChannel {
 public:
  MpiArrivals() { MPI_Comm_dup(MPI_COMM_WORLD, &comm_); }
  ~MpiArrivals() override { MPI_Comm_free(&comm_); }

  void send(int index, int phase) override {
    int message[2] = {index, phase};
    MPI_Send(message, 2, MPI_INT, 0, arrival_tag, comm_);
    ++sent_;
  }
  bool try_receive(int& from, int& index, int& phase) override {
    int pending = 0;
    MPI_Iprobe(MPI_ANY_SOURCE, arrival_tag, comm_, &pending, MPI_STATUS_IGNORE);
    if (!pending) return false;
    receive(from, index, phase);
    return true;
  }
  // Ranks agree on how many messages were sent; rank 0 receives the ones still in flight, so
  // that no message outlives the communicator.
  void close(const std::function<void(int, int, int)>& take) override {
    long total = 0;
    MPI_Reduce(&sent_, &total, 1, MPI_LONG, MPI_SUM, 0, comm_);
    int rank = 0;
    MPI_Comm_rank(comm_, &rank);
    if (rank != 0) return;
    while (received_ < total) {
      int from, index, phase;
      receive(from, index, phase);
      take(from, index, phase);
    }
  }

 private:
  void receive(int& from, int& index, int& phase) {
    int message[2];
    MPI_Status status;
    MPI_Recv(message, 2, MPI_INT, MPI_ANY_SOURCE, arrival_tag, comm_, &status);
    ++received_;
    from = status.MPI_SOURCE;
    index = message[0];
    phase = message[1];
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  long sent_ = 0;
  long received_ = 0;
};

}  // namespace

MpiWorld::MpiWorld(int* argc, char*** argv) {
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided < MPI_THREAD_MULTIPLE) {
    MPI_Finalize();
    throw std::runtime_error("the MPI library does not support MPI_THREAD_MULTIPLE, which the deadline watchdog needs");
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);

  // Every rank's identity (host, rack, leaf switch: one line each), gathered and shared, then
  // placed; World::place may place the ranks anew.
  const Placement me = local_identity();
  const auto texts = gather_text(MPI_COMM_WORLD, me.host + "\n" + me.rack + "\n" + me.leaf_switch + "\n");
  std::string table;
  for (const auto& t : texts) table += t;
  table = broadcast_text(MPI_COMM_WORLD, table, 0);
  std::vector<std::string> leaf_switches;
  for (std::size_t pos = 0; pos < table.size();) {
    const std::size_t a = table.find('\n', pos), b = table.find('\n', a + 1), c = table.find('\n', b + 1);
    identities_.emplace_back(table.substr(pos, a - pos), table.substr(a + 1, b - a - 1));
    leaf_switches.push_back(table.substr(b + 1, c - b - 1));
    pos = c + 1;
  }
  placements_ = rackqual::place(identities_);
  for (std::size_t r = 0; r < placements_.size(); ++r) placements_[r].leaf_switch = leaf_switches[r];
}

void MpiWorld::set_placements(std::vector<Placement> placements) {
  for (const auto& [scope, group] : groups_)
    if (scope != Scope::cluster) throw std::logic_error("ranks placed anew after the groups of a scope were built");
  placements_ = std::move(placements);
}

MpiWorld::~MpiWorld() {
  groups_.clear();
  MPI_Finalize();
}

const Group& MpiWorld::group(Scope scope) const {
  auto it = groups_.find(scope);
  if (it != groups_.end()) return *it->second;
  // Ranks of one group share a colour: the first world rank of the group.
  const std::vector<int> members = group_members(scope, placements_, rank_);
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, members.front(), rank_, &comm);
  auto group = std::make_unique<MpiGroup>(comm, members, group_name(scope, placements_, rank_));
  return *groups_.emplace(scope, std::move(group)).first->second;
}

std::unique_ptr<ArrivalChannel> MpiWorld::arrival_channel() const { return std::make_unique<MpiArrivals>(); }

void MpiWorld::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

MPI_Comm native_comm(const Group& group) {
  const auto* mpi = dynamic_cast<const MpiGroup*>(&group);
  if (!mpi) throw SetupError("this operation needs the MPI communicator of a real run, not a simulated group");
  return mpi->comm();
}

}  // namespace rackqual
