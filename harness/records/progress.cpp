#include "rackqual/records/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace rackqual {
namespace {

double since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Progress::Progress(bool enabled) : enabled_(enabled), tty_(enabled && ::isatty(STDERR_FILENO) == 1) {
  if (!tty_) return;
  ticker_ = std::thread([this] {
    while (!stop_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      if (active_) draw();
    }
  });
}

Progress::~Progress() {
  stop_ = true;
  if (ticker_.joinable()) ticker_.join();
}

void Progress::start(int index, int total, const std::string& check) {
  if (!enabled_) return;
  {
    std::lock_guard lock(mutex_);
    index_ = index;
    total_ = total;
    check_ = check;
    started_ = std::chrono::steady_clock::now();
  }
  active_ = true;
  if (tty_) draw();
}

void Progress::draw() {
  std::lock_guard lock(mutex_);
  std::fprintf(stderr, "\r\033[K[%d/%d] %s  %.1fs", index_, total_, check_.c_str(), since(started_));
  std::fflush(stderr);
}

void Progress::finish(Verdict verdict) {
  if (!enabled_) return;
  active_ = false;
  std::lock_guard lock(mutex_);
  std::fprintf(stderr, "%s[%d/%d] %s %s %.1fs\n", tty_ ? "\r\033[K" : "", index_, total_, check_.c_str(),
               std::string(to_string(verdict)).c_str(), since(started_));
  std::fflush(stderr);
}

}  // namespace rackqual
