#include "rackqual/world/fake_world.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <stdexcept>

namespace rackqual {

// One round at a time: each member deposits its text; the last to arrive publishes the round;
// a member may deposit for the next round only once every member has read the last one.
struct FakeCluster::Exchange {
  explicit Exchange(int members) : slots(static_cast<std::size_t>(members)) {}
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> slots, published;
  int deposited = 0, readers = 0;
  long round = 0;

  std::vector<std::string> run(int member, const std::string& text) {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return readers == 0; });   // the previous round is read by everyone
    const long mine = round;
    slots[static_cast<std::size_t>(member)] = text;
    if (++deposited == static_cast<int>(slots.size())) {
      published = slots;
      deposited = 0;
      readers = static_cast<int>(slots.size());
      ++round;
      changed.notify_all();
    } else {
      changed.wait(lock, [&] { return round != mine; });
    }
    std::vector<std::string> out = published;
    if (--readers == 0) changed.notify_all();
    return out;
  }
};

struct FakeCluster::Mailbox {
  struct Message {
    int from, index, phase;
  };
  std::mutex mutex;
  std::deque<Message> messages;
};

namespace {

std::string pack(const std::vector<double>& values) {
  std::string out(values.size() * sizeof(double), '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}
std::vector<double> unpack(const std::string& text) {
  std::vector<double> out(text.size() / sizeof(double));
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

class FakeGroup : public Group {
 public:
  FakeGroup(FakeCluster::Exchange& exchange, std::vector<int> members, int rank, std::string name)
      : exchange_(exchange), members_(std::move(members)), rank_(rank), name_(std::move(name)) {}

  int rank() const override { return rank_; }
  int size() const override { return static_cast<int>(members_.size()); }
  int world_rank(int group_rank) const override { return members_.at(static_cast<std::size_t>(group_rank)); }
  const std::string& name() const override { return name_; }
  void barrier() const override { exchange_.run(rank_, ""); }
  std::vector<double> max_each(const std::vector<double>& values) const override {
    std::vector<double> out = values;
    for (const auto& text : exchange_.run(rank_, pack(values))) {
      const auto theirs = unpack(text);
      for (std::size_t i = 0; i < out.size() && i < theirs.size(); ++i) out[i] = std::max(out[i], theirs[i]);
    }
    return out;
  }
  std::vector<double> all_gather(const std::vector<double>& values) const override {
    std::vector<double> out;
    for (const auto& text : exchange_.run(rank_, pack(values))) {
      const auto theirs = unpack(text);
      out.insert(out.end(), theirs.begin(), theirs.end());
    }
    return out;
  }
  std::vector<std::string> gather(const std::string& text) const override {
    auto all = exchange_.run(rank_, text);
    return leader() ? all : std::vector<std::string>{};
  }
  std::string broadcast(const std::string& text, int root) const override {
    return exchange_.run(rank_, text).at(static_cast<std::size_t>(root));
  }

 private:
  FakeCluster::Exchange& exchange_;
  std::vector<int> members_;
  int rank_;
  std::string name_;
};

class FakeArrivals : public ArrivalChannel {
 public:
  FakeArrivals(FakeCluster::Mailbox& mailbox, const Group& all, int rank) : mailbox_(mailbox), all_(all), rank_(rank) {}
  void send(int index, int phase) override {
    std::lock_guard lock(mailbox_.mutex);
    mailbox_.messages.push_back({rank_, index, phase});
  }
  bool try_receive(int& from, int& index, int& phase) override {
    std::lock_guard lock(mailbox_.mutex);
    if (mailbox_.messages.empty()) return false;
    const auto m = mailbox_.messages.front();
    mailbox_.messages.pop_front();
    from = m.from, index = m.index, phase = m.phase;
    return true;
  }
  void close(const std::function<void(int, int, int)>& take) override {
    all_.barrier();   // every message is in the mailbox
    if (rank_ == 0) {
      int from, index, phase;
      while (try_receive(from, index, phase)) take(from, index, phase);
    }
    all_.barrier();
  }

 private:
  FakeCluster::Mailbox& mailbox_;
  const Group& all_;
  int rank_;
};

}  // namespace

FakeCluster::FakeCluster(const std::vector<std::pair<std::string, std::string>>& host_and_rack)
    : identities_(host_and_rack), placements_(place(host_and_rack)), mailbox_(std::make_unique<Mailbox>()) {}

FakeCluster::~FakeCluster() = default;

FakeCluster::Exchange& FakeCluster::exchange(const std::string& key, int members) {
  std::lock_guard lock(mutex_);
  auto& slot = exchanges_[key];
  if (!slot) slot = std::make_unique<Exchange>(members);
  return *slot;
}

FakeWorld::FakeWorld(FakeCluster& cluster, int rank) : cluster_(cluster), rank_(rank), placements_(cluster.placements()) {}
FakeWorld::~FakeWorld() = default;

void FakeWorld::set_placements(std::vector<Placement> placements) {
  for (const auto& [scope, group] : groups_)
    if (scope != Scope::cluster) throw std::logic_error("ranks placed anew after the groups of a scope were built");
  placements_ = std::move(placements);
}

const Group& FakeWorld::group(Scope scope) const {
  auto it = groups_.find(scope);
  if (it != groups_.end()) return *it->second;
  const auto members = group_members(scope, placements(), rank_);
  const std::string key = std::string(to_string(scope)) + "/" + std::to_string(members.front());
  auto& exchange = cluster_.exchange(key, static_cast<int>(members.size()));
  const int mine = static_cast<int>(std::find(members.begin(), members.end(), rank_) - members.begin());
  auto group = std::make_unique<FakeGroup>(exchange, members, mine, group_name(scope, placements(), rank_));
  return *groups_.emplace(scope, std::move(group)).first->second;
}

std::unique_ptr<Group> FakeWorld::split(const std::vector<std::vector<int>>& groups, const std::vector<std::string>& names) const {
  const long split = splits_++;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const auto& members = groups[g];
    const auto at = std::find(members.begin(), members.end(), rank_);
    if (at == members.end()) continue;
    auto& exchange = cluster_.exchange("split/" + std::to_string(split) + "/" + std::to_string(g), static_cast<int>(members.size()));
    return std::make_unique<FakeGroup>(exchange, members, static_cast<int>(at - members.begin()), names.at(g));
  }
  return nullptr;
}

std::unique_ptr<ArrivalChannel> FakeWorld::arrival_channel() const {
  return std::make_unique<FakeArrivals>(cluster_.mailbox(), all(), rank_);
}

void FakeWorld::abort(int code) const { throw Aborted("simulated run aborted with exit code " + std::to_string(code)); }

}  // namespace rackqual
