#include "rackqual/run/slowdown.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

double parse_factor(const std::string& flag, const std::string& text) {
  try {
    std::size_t used = 0;
    const double f = std::stod(text, &used);
    if (used == text.size() && f > 1 && f <= 1000) return f;
  } catch (const std::exception&) {
  }
  throw FieldError(flag, "FACTOR must be a number above 1 and at most 1000, got '" + text + "'");
}

class SlowedOp : public Op {
 public:
  SlowedOp(std::unique_ptr<Op> inner, double factor, bool alone) : inner_(std::move(inner)), factor_(factor), alone_(alone) {}
  // Alone, a launch's time is its own: stretched as it is, so that a machine loaded by other
  // work slows it and its stretch alike. In a collective the launch also waits for the other
  // ranks, and a slowed peer's sleep taken for this rank's own time would feed on itself: the
  // shortest launch so far stands for its own time.
  void launch() override {
    const auto start = std::chrono::steady_clock::now();
    inner_->launch();
    inner_->wait();
    const auto took = std::chrono::steady_clock::now() - start;
    if (shortest_ == std::chrono::steady_clock::duration::zero() || took < shortest_) shortest_ = took;
    std::this_thread::sleep_for((alone_ ? took : shortest_) * (factor_ - 1));
  }
  void wait() override { inner_->wait(); }
  Correctness verify() override { return inner_->verify(); }
  void inject_error() override { inner_->inject_error(); }
  std::optional<Digest> digest() override { return inner_->digest(); }
  void corrupt() override { inner_->corrupt(); }
  std::map<std::string, double> phases() const override { return inner_->phases(); }
  int stream_entries() const override { return 0; }   // each launch completes: never held

 private:
  std::unique_ptr<Op> inner_;
  double factor_;
  bool alone_;
  std::chrono::steady_clock::duration shortest_{};
};

}  // namespace

double Slowdowns::factor(const std::string& host, const std::vector<std::string>& group_hosts) const {
  auto spans = [&](const std::string& h) { return std::find(group_hosts.begin(), group_hosts.end(), h) != group_hosts.end(); };
  double f = 1;
  for (const auto& s : hosts)
    if (s.host == host) f = std::max(f, s.factor);
  for (const auto& l : links)
    if ((l.a == host || l.b == host) && spans(l.a) && spans(l.b)) f = std::max(f, l.factor);
  return f;
}

SlowHost parse_slow_host(const std::string& text) {
  const auto eq = text.rfind('=');
  if (eq == std::string::npos || eq == 0) throw FieldError("--slow-host", "expected HOST=FACTOR, got '" + text + "'");
  return {text.substr(0, eq), parse_factor("--slow-host", text.substr(eq + 1))};
}

SlowLink parse_slow_link(const std::string& text) {
  const auto eq = text.rfind('=');
  const auto comma = text.find(',');
  if (eq == std::string::npos || comma == std::string::npos || comma == 0 || comma + 1 >= eq)
    throw FieldError("--slow-link", "expected HOST_A,HOST_B=FACTOR, got '" + text + "'");
  SlowLink l{text.substr(0, comma), text.substr(comma + 1, eq - comma - 1), parse_factor("--slow-link", text.substr(eq + 1))};
  if (l.a == l.b) throw FieldError("--slow-link", "a link joins two different hosts, got '" + text + "'");
  return l;
}

std::unique_ptr<Op> slowed(std::unique_ptr<Op> op, double factor, bool alone) {
  if (factor <= 1) return op;
  return std::make_unique<SlowedOp>(std::move(op), factor, alone);
}

}  // namespace rackqual
