#pragma once
// Rank 0's progress on stderr: a live line on a terminal, one line per finished check otherwise.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "rackqual/base/verdict.hpp"

namespace rackqual {

class Progress {
 public:
  explicit Progress(bool enabled);
  ~Progress();
  void start(int index, int total, const std::string& check);
  void finish(Verdict verdict);

 private:
  void draw();
  bool enabled_;
  bool tty_;
  std::mutex mutex_;
  int index_ = 0, total_ = 0;
  std::string check_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> active_{false}, stop_{false};
  std::thread ticker_;
};

}  // namespace rackqual
