// The MPI world: ranks, placements from every rank's identity, one communicator per group,
// and the watchdog's arrival channel on a communicator of its own.
#include "rackqual/world/mpi_world.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "rackqual/base/error.hpp"
#include "rackqual/world/mpi_native.hpp"

namespace rackqual {

// Rank 0's word that it gave up on some ranks, and every live rank's way to hear it while it
// waits in a collective: rank 0 by a flag its watchdog thread sets, the others by a message on
// a communicator of its own.
class Abandonment {
 public:
  static constexpr int tag = 9;
  explicit Abandonment(int rank) : rank_(rank) { MPI_Comm_dup(MPI_COMM_WORLD, &control_); }

  // Rank 0: tells every live rank but itself, then itself.
  void post(const std::vector<int>& ranks, const std::vector<int>& live) {
    std::lock_guard lock(mutex_);
    ranks_ = ranks;
    for (int r : live)
      if (r != 0) MPI_Send(ranks_.data(), static_cast<int>(ranks_.size()), MPI_INT, r, tag, control_);
    posted_ = true;
  }
  // Throws Abandoned once rank 0 has given up; called while a collective is pending.
  void check() {
    if (rank_ == 0) {
      if (!posted_) return;
      std::lock_guard lock(mutex_);
      posted_ = false;
      throw Abandoned{ranks_};
    }
    int pending = 0;
    MPI_Status status;
    MPI_Iprobe(0, tag, control_, &pending, &status);
    if (!pending) return;
    int count = 0;
    MPI_Get_count(&status, MPI_INT, &count);
    std::vector<int> ranks(static_cast<std::size_t>(count));
    MPI_Recv(ranks.data(), count, MPI_INT, 0, tag, control_, MPI_STATUS_IGNORE);
    throw Abandoned{ranks};
  }

 private:
  int rank_;
  MPI_Comm control_ = MPI_COMM_NULL;
  std::mutex mutex_;
  std::atomic<bool> posted_{false};
  std::vector<int> ranks_;
};

namespace {

// What an abandoned collective may still touch: its buffers stay alive to the end of the process.
std::vector<std::shared_ptr<void>>& abandoned_buffers() {
  static std::vector<std::shared_ptr<void>> kept;
  return kept;
}

// Waits for a nonblocking collective while watching for abandonment. On abandonment the
// request is left to MPI (a pending collective cannot be cancelled) with `buffers` kept alive.
void wait_for(MPI_Request& request, Abandonment& abandonment, std::shared_ptr<void> buffers) {
  for (;;) {
    int done = 0;
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::yield();   // ranks that share cores let the others on
    try {
      abandonment.check();
    } catch (const Abandoned&) {
      abandoned_buffers().push_back(std::move(buffers));
      throw;
    }
  }
}

class MpiGroup : public Group {
 public:
  MpiGroup(MPI_Comm comm, std::vector<int> world_ranks, std::string name, Abandonment& abandonment)
      : comm_(comm), world_ranks_(std::move(world_ranks)), name_(std::move(name)), abandonment_(abandonment) {
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
  }
  ~MpiGroup() override { MPI_Comm_free(&comm_); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int world_rank(int group_rank) const override { return world_ranks_.at(static_cast<std::size_t>(group_rank)); }
  const std::string& name() const override { return name_; }
  // Every agreement is a nonblocking collective waited for while watching for abandonment, so
  // that a rank that never arrives holds no live rank forever.
  void barrier() const override {
    MPI_Request request;
    MPI_Ibarrier(comm_, &request);
    wait_for(request, abandonment_, nullptr);
  }
  std::vector<double> max_each(const std::vector<double>& values) const override {
    auto in = std::make_shared<std::vector<double>>(values);
    auto out = std::make_shared<std::vector<double>>(values.size());
    MPI_Request request;
    MPI_Iallreduce(in->data(), out->data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_MAX, comm_, &request);
    wait_for(request, abandonment_, std::make_shared<std::pair<decltype(in), decltype(out)>>(in, out));
    return *out;
  }
  std::vector<double> all_gather(const std::vector<double>& values) const override {
    auto in = std::make_shared<std::vector<double>>(values);
    auto out = std::make_shared<std::vector<double>>(values.size() * static_cast<std::size_t>(size_));
    const int n = static_cast<int>(values.size());
    MPI_Request request;
    MPI_Iallgather(in->data(), n, MPI_DOUBLE, out->data(), n, MPI_DOUBLE, comm_, &request);
    wait_for(request, abandonment_, std::make_shared<std::pair<decltype(in), decltype(out)>>(in, out));
    return *out;
  }
  std::vector<std::string> gather(const std::string& text) const override {
    // Lengths first, then the texts, each into buffers that outlive an abandoned wait.
    struct Buffers {
      std::string text, all;
      int length = 0;
      std::vector<int> lengths, offsets;
    };
    auto b = std::make_shared<Buffers>();
    b->text = text;
    b->length = static_cast<int>(text.size());
    const bool root = rank_ == 0;
    b->lengths.resize(root ? static_cast<std::size_t>(size_) : 0);
    b->offsets.resize(b->lengths.size());
    MPI_Request request;
    MPI_Igather(&b->length, 1, MPI_INT, b->lengths.data(), 1, MPI_INT, 0, comm_, &request);
    wait_for(request, abandonment_, b);
    int total = 0;
    for (std::size_t i = 0; i < b->lengths.size(); ++i) {
      b->offsets[i] = total;
      total += b->lengths[i];
    }
    b->all.resize(static_cast<std::size_t>(total));
    MPI_Igatherv(b->text.data(), b->length, MPI_CHAR, b->all.data(), b->lengths.data(), b->offsets.data(), MPI_CHAR, 0,
                 comm_, &request);
    wait_for(request, abandonment_, b);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < b->lengths.size(); ++i) out.push_back(b->all.substr(static_cast<std::size_t>(b->offsets[i]), static_cast<std::size_t>(b->lengths[i])));
    return out;
  }
  std::string broadcast(const std::string& text, int root) const override {
    struct Buffers {
      std::string text;
      int length = 0;
    };
    auto b = std::make_shared<Buffers>();
    b->length = static_cast<int>(text.size());
    MPI_Request request;
    MPI_Ibcast(&b->length, 1, MPI_INT, root, comm_, &request);
    wait_for(request, abandonment_, b);
    b->text = rank_ == root ? text : std::string(static_cast<std::size_t>(b->length), '\0');
    MPI_Ibcast(b->text.data(), b->length, MPI_CHAR, root, comm_, &request);
    wait_for(request, abandonment_, b);
    return b->text;
  }

  MPI_Comm comm() const { return comm_; }

 private:
  MPI_Comm comm_;
  std::vector<int> world_ranks_;
  std::string name_;
  Abandonment& abandonment_;
  int rank_ = 0, size_ = 1;
};

constexpr int arrival_tag = 7;

class MpiArrivals : public ArrivalChannel {
 public:
  // `live`: the communicator of the ranks still taking part, when the channel closes.
  explicit MpiArrivals(std::function<MPI_Comm()> live) : live_(std::move(live)) { MPI_Comm_dup(MPI_COMM_WORLD, &comm_); }
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
  // Live ranks agree on how many messages they sent; rank 0 receives the ones still in flight,
  // so that no message outlives the communicator.
  void close(const std::function<void(int, int, int)>& take) override {
    long total = 0;
    MPI_Reduce(&sent_, &total, 1, MPI_LONG, MPI_SUM, 0, live_());
    int rank = 0;
    MPI_Comm_rank(comm_, &rank);
    if (rank != 0) return;
    // Messages from ranks excluded since are not in the total.
    for (const auto& [from, count] : received_from_)
      if (!is_live(from)) received_ -= count;
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
    ++received_from_[from];
    index = message[0];
    phase = message[1];
  }

  bool is_live(int world_rank) const {
    MPI_Group world_group, live_group;
    MPI_Comm_group(MPI_COMM_WORLD, &world_group);
    MPI_Comm_group(live_(), &live_group);
    int translated = MPI_UNDEFINED;
    MPI_Group_translate_ranks(world_group, 1, &world_rank, live_group, &translated);
    MPI_Group_free(&world_group);
    MPI_Group_free(&live_group);
    return translated != MPI_UNDEFINED;
  }

  std::function<MPI_Comm()> live_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  long sent_ = 0;
  long received_ = 0;
  std::map<int, long> received_from_;
};

}  // namespace

std::unique_ptr<World> start_mpi_world(int* argc, char*** argv) { return std::make_unique<MpiWorld>(argc, argv); }

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
  abandonment_ = std::make_unique<Abandonment>(rank_);
  MPI_Comm everyone = MPI_COMM_NULL;
  MPI_Comm_dup(MPI_COMM_WORLD, &everyone);
  std::vector<int> ranks(static_cast<std::size_t>(size_));
  for (int r = 0; r < size_; ++r) ranks[static_cast<std::size_t>(r)] = r;
  const MpiGroup all(everyone, ranks, "cluster", *abandonment_);
  const Placement me = local_identity();
  std::string table;
  for (const auto& t : all.gather(me.host + "\n" + me.rack + "\n" + me.leaf_switch + "\n")) table += t;
  table = all.broadcast(table, 0);
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
  // A rank that never arrived would hold MPI_Finalize forever: every record is written by now
  // (rank 0 has answered the run's last agreement), so the run ends here, with its exit code.
  if (!excluded_.empty()) abort(exit_code_);
  MPI_Finalize();
}

const Group& MpiWorld::group(Scope scope) const {
  auto it = groups_.find(scope);
  if (it != groups_.end()) return *it->second;
  // Ranks of one group share a colour: the first live world rank of the group.
  std::vector<int> members;
  for (int r : group_members(scope, placements_, rank_))
    if (std::find(excluded_.begin(), excluded_.end(), r) == excluded_.end()) members.push_back(r);
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_split(live_, members.front(), rank_, &comm);
  auto group = std::make_unique<MpiGroup>(comm, members, group_name(scope, placements_, rank_), *abandonment_);
  return *groups_.emplace(scope, std::move(group)).first->second;
}

void MpiWorld::abandon(const std::vector<int>& ranks) const {
  std::vector<int> live;
  for (int r = 0; r < size_; ++r)
    if (std::find(excluded_.begin(), excluded_.end(), r) == excluded_.end() &&
        std::find(ranks.begin(), ranks.end(), r) == ranks.end())
      live.push_back(r);
  abandonment_->post(ranks, live);
}

void MpiWorld::exclude(const std::vector<int>& ranks, const std::function<void(const Group&)>& retired) {
  excluded_.insert(excluded_.end(), ranks.begin(), ranks.end());
  std::sort(excluded_.begin(), excluded_.end());
  // The old communicators may still hold abandoned collectives: never freed.
  for (auto& [scope, group] : groups_) {
    if (retired) retired(*group);
    group.release();
  }
  groups_.clear();
  // The live ranks' communicator, built by the live ranks alone.
  MPI_Group world_group, live_group;
  MPI_Comm_group(MPI_COMM_WORLD, &world_group);
  MPI_Group_excl(world_group, static_cast<int>(excluded_.size()), excluded_.data(), &live_group);
  MPI_Comm live = MPI_COMM_NULL;
  MPI_Comm_create_group(MPI_COMM_WORLD, live_group, static_cast<int>(excluded_.size()), &live);
  MPI_Group_free(&world_group);
  MPI_Group_free(&live_group);
  live_ = live;
  exit_code_ = exit_run_error;
  // Every scope's group now, in one order on every rank: built later, ranks could build them
  // in different orders (rank 0 writes records between) and pair the wrong splits.
  for (Scope s : {Scope::gpu, Scope::node, Scope::nvlink_domain, Scope::rack, Scope::cluster}) group(s);
}

std::unique_ptr<Group> MpiWorld::split(const std::vector<std::vector<int>>& groups, const std::vector<std::string>& names) const {
  int colour = MPI_UNDEFINED;
  for (std::size_t g = 0; g < groups.size(); ++g)
    if (std::find(groups[g].begin(), groups[g].end(), rank_) != groups[g].end()) colour = static_cast<int>(g);
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_split(live_, colour, rank_, &comm);
  if (colour == MPI_UNDEFINED) return nullptr;
  return std::make_unique<MpiGroup>(comm, groups[static_cast<std::size_t>(colour)], names.at(static_cast<std::size_t>(colour)),
                                    *abandonment_);
}

std::unique_ptr<ArrivalChannel> MpiWorld::arrival_channel() const {
  return std::make_unique<MpiArrivals>([this] { return live_; });
}

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
