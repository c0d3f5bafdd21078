#pragma once
// Deadlines: every rank reports where it has arrived; rank 0 watches. When a check passes
// its deadline, rank 0 names the ranks that did not arrive. Where the world can go on without
// them, it gives up on them and the live ranks regroup; else, or when the live ranks do not
// regroup in time, it records an error and ends the run.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "rackqual/world/world.hpp"

namespace rackqual {

class Watchdog {
 public:
  // Called once on rank 0 when a deadline passes, with the check and who is late; then MPI aborts.
  using OnExpiry = std::function<void(const std::string& check, const std::string& reason)>;

  // Called once on rank 0 when a deadline passes with ranks other than 0 behind, in a world
  // that can go on without them: gives up on them (World::abandon). The live ranks then have
  // defaults::regroup_s to begin the next check (or the same again) before on_expiry follows.
  using OnAbandon = std::function<void(const std::string& check, const std::vector<int>& ranks, const std::string& reason)>;

  // `phases` names the places a rank reports, in the order it reaches them within a check.
  Watchdog(const World& world, std::vector<std::string> phases, OnExpiry on_expiry, OnAbandon on_abandon = nullptr);
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Rank 0: a new check starts, with its deadline in seconds.
  void begin_check(int index, const std::string& check, double deadline);
  // Every rank: it has arrived at `phase` of check `index`.
  void arrive(int index, int phase);
  // Rank 0, between checks: takes the arrivals that have come in (elsewhere: nothing).
  void drain();
  // Rank 0: ranks that no longer take part; their marks no longer count.
  void exclude(const std::vector<int>& ranks);

 private:
  struct Mark {
    int index = -1;
    int phase = 0;
    auto operator<=>(const Mark&) const = default;
  };
  void watch();
  void take(int from, int index, int phase);
  std::string late_ranks() const;
  std::vector<int> ranks_behind() const;
  bool live(std::size_t rank) const;

  const World& world_;
  std::vector<std::string> phases_;
  OnExpiry on_expiry_;
  OnAbandon on_abandon_;
  std::vector<bool> excluded_;
  bool regrouping_ = false;   // ranks were given up on; the live ones have not begun again yet
  std::string abandon_reason_;
  std::unique_ptr<ArrivalChannel> channel_;
  std::vector<Mark> marks_;
  std::mutex mutex_;
  std::mutex drain_mutex_;
  int index_ = -1;
  std::string check_;
  std::chrono::steady_clock::time_point deadline_at_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace rackqual
