#include "rackqual/world/watchdog.hpp"

#include <cstdio>
#include <limits>

#include "rackqual/base/defaults.hpp"

namespace rackqual {

Watchdog::Watchdog(const World& world, std::vector<std::string> phases, OnExpiry on_expiry, OnAbandon on_abandon)
    : world_(world), phases_(std::move(phases)), on_expiry_(std::move(on_expiry)), on_abandon_(std::move(on_abandon)),
      channel_(world.arrival_channel()) {
  marks_.resize(static_cast<std::size_t>(world_.size()));
  excluded_.resize(marks_.size(), false);
  if (world_.rank() == 0) thread_ = std::thread([this] { watch(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  // The watching thread has stopped: rank 0 alone receives what is still in flight.
  channel_->close([this](int from, int index, int phase) { take(from, index, phase); });
}

void Watchdog::begin_check(int index, const std::string& check, double deadline) {
  std::lock_guard lock(mutex_);
  index_ = index;
  check_ = check;
  regrouping_ = false;
  deadline_at_ = std::chrono::steady_clock::now() +
                 std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(deadline));
}

void Watchdog::arrive(int index, int phase) {
  if (world_.rank() == 0) {
    std::lock_guard lock(mutex_);
    marks_[0] = Mark{index, phase};
    return;
  }
  channel_->send(index, phase);
}

void Watchdog::exclude(const std::vector<int>& ranks) {
  std::lock_guard lock(mutex_);
  for (int r : ranks) excluded_.at(static_cast<std::size_t>(r)) = true;
}

bool Watchdog::live(std::size_t rank) const { return !excluded_[rank]; }

void Watchdog::take(int from, int index, int phase) {
  std::lock_guard lock(mutex_);
  marks_[static_cast<std::size_t>(from)] = Mark{index, phase};
}

// Rank 0: takes the arrival messages that have come in, without waiting.
void Watchdog::drain() {
  if (world_.rank() != 0) return;
  std::lock_guard drain_lock(drain_mutex_);
  int from, index, phase;
  while (channel_->try_receive(from, index, phase)) take(from, index, phase);
}

// The watching thread touches the channel only once a deadline has passed, so that it never
// competes with a measurement for the MPI library; the main thread drains arrivals between checks.
void Watchdog::watch() {
  for (;;) {
    bool expired = false;
    {
      std::lock_guard lock(mutex_);
      if (stop_) return;
      expired = index_ >= 0 && std::chrono::steady_clock::now() > deadline_at_;
    }
    if (expired) {
      // Messages already sent may need a few turns of the library's progress to be seen (rank 0's
      // main thread, itself stuck, turns none): take arrivals for a short while.
      const auto settled = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      while (std::chrono::steady_clock::now() < settled) {
        drain();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      std::string check, reason;
      std::vector<int> behind;
      bool regrouping = false, abandoning = false;
      {
        std::lock_guard lock(mutex_);
        check = check_;
        reason = "deadline passed; " + late_ranks();
        behind = ranks_behind();
        regrouping = regrouping_;
        if (!regrouping && on_abandon_ && world_.can_exclude() && !behind.empty() && behind.front() != 0) {
          regrouping_ = abandoning = true;
          abandon_reason_ = reason;
          deadline_at_ = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(defaults::regroup_s));
        }
      }
      if (abandoning) {
        on_abandon_(check, behind, reason);
        continue;
      }
      if (regrouping) reason = abandon_reason_ + "; the other ranks did not regroup without them within " +
                               std::to_string(static_cast<int>(defaults::regroup_s)) + " s";
      on_expiry_(check, reason);
      world_.abort(3);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Ranks behind the furthest one, with where each stopped; or, when none is behind, the
// place where all of them wait.
// The ranks that got least far, when others got further: the ranks that never arrived. Those
// between them and the furthest wait for them inside a collective.
std::vector<int> Watchdog::ranks_behind() const {
  Mark furthest, least{std::numeric_limits<int>::max(), 0};
  for (std::size_t r = 0; r < marks_.size(); ++r)
    if (live(r)) {
      furthest = std::max(furthest, marks_[r]);
      least = std::min(least, marks_[r]);
    }
  std::vector<int> out;
  for (std::size_t r = 0; r < marks_.size(); ++r)
    if (live(r) && marks_[r] == least && least < furthest) out.push_back(static_cast<int>(r));
  return out;
}

std::string Watchdog::late_ranks() const {
  Mark furthest;
  for (std::size_t r = 0; r < marks_.size(); ++r)
    if (live(r)) furthest = std::max(furthest, marks_[r]);
  auto name = [&](const Mark& m) {
    if (m.index < index_) return std::string("before this check");
    std::string quoted = "'";
    quoted += m.phase < static_cast<int>(phases_.size()) ? phases_[m.phase] : std::to_string(m.phase);
    quoted += "'";
    return quoted;
  };
  std::string late, ranks;
  for (std::size_t r = 0; r < marks_.size(); ++r) {
    if (!live(r) || !(marks_[r] < furthest)) continue;
    if (!ranks.empty()) {
      ranks += ",";
      late += "; ";
    }
    ranks += std::to_string(r);
    late += "rank " + std::to_string(r) + " (" + world_.placements()[r].host + ") last at " + name(marks_[r]);
  }
  if (ranks.empty()) return "every rank reached " + name(furthest) + " and none went on: a collective did not complete";
  return (ranks.find(',') == std::string::npos ? "rank " : "ranks ") + ranks + " did not arrive at " + name(furthest) + ": " + late;
}

}  // namespace rackqual
