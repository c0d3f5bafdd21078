#pragma once
// Where a kind runs. A backend knows devices and operations, never suites or thresholds.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "rackqual/api/group.hpp"
#include "rackqual/api/params.hpp"

namespace rackqual {

struct Correctness {
  bool ok = true;
  std::string detail;
};

// A fingerprint of an operation's output where every rank computes the same problem from the
// same seed (a kind's `consensus` parameter): healthy devices of one model give the same digest,
// and a vote across them names a device that computed something else.
struct Digest {
  std::string hash;     // 16 hex digits: FNV-1a of the output bytes that reproduce bit for bit
  std::string covers;   // what the hash (and the sample) cover, in words
  // What else devices of one model must share to agree bit for bit (the library's version, the
  // threads that split the work): the vote compares only digests of the same model and setting.
  std::string setting;
  // Where part of the output does not reproduce bit for bit (floating-point atomics): its values
  // at fixed positions, which healthy devices reproduce within `tolerance` relative to the
  // largest of them. Empty when the hash covers the whole output.
  std::vector<double> sample;
  double tolerance = 0;
  bool bit_exact() const { return sample.empty(); }
};

// The backend's clock for a timed region: marks on the stream the operations launch on (CUDA
// events on a GPU; steady_clock on the host). The harness decides what lies between the marks.
class Timer {
 public:
  virtual ~Timer() = default;
  // Marks the start. With `hold`, a GPU timer holds the stream until stop(), so that the
  // launches queued in between run back to back and their enqueue time is not measured
  // (never for an operation that waits inside launch()).
  virtual void start(bool hold = false) = 0;
  // Marks the end (and releases the stream); does not wait.
  virtual void stop() = 0;
  // Waits for the end mark; the seconds between the marks.
  virtual double elapsed() = 0;
  // Releases the stream if start(true) still holds it (a launch threw between the marks), so
  // that the queued work runs now rather than at the hold's timeout. Never throws.
  virtual void release() noexcept {}
};

// One operation at one parameter point on one rank. The constructor prepares it
// (allocates, fills inputs with random data); launch() is one iteration.
class Op {
 public:
  virtual ~Op() = default;
  // One iteration, enqueued on the backend's stream (on the host: run to completion).
  virtual void launch() = 0;
  // Waits for every launch so far. Collectives wait without blocking forever: past the
  // deadline they abort and throw.
  virtual void wait() {}
  // Checks the outputs of the last launch against their known answer (untimed; waits first).
  virtual Correctness verify() = 0;
  // Chaos drill: corrupts one output element of the last launch, so that verify() must fail.
  virtual void inject_error() = 0;
  // The digest of the last launch's output (untimed; waits first), computed on this rank alone;
  // null where the operation computes no problem shared by every rank.
  virtual std::optional<Digest> digest() { return std::nullopt; }
  // Chaos drill: changes one element of the output digest() covers by its least significant
  // bit, within every tolerance of verify(), so that only a vote across devices can catch it.
  virtual void corrupt() { throw std::runtime_error("injected fault: this operation has no output digest to corrupt"); }
  // Seconds of each phase of the last launch (forward, backward, ...); empty for one-phase
  // operations. An operation with phases completes each launch before launch() returns.
  virtual std::map<std::string, double> phases() const { return {}; }
  // What one launch leaves queued on the stream when launch() returns: kernels, event records
  // and waits (an NCCL call queues three per kernel). The harness caps a held batch by it, since
  // the stream's queue is finite and the host blocks inside a launch once it is full. 0 for an
  // operation that completes each launch before launch() returns (it is never held).
  virtual int stream_entries() const { return 1; }
};

struct DeviceInfo {
  int index = 0;
  std::string name;
  std::string uuid;
  std::string serial;
  // The memory measurements allocate from, in bytes (0: unknown): the GPU's own, or on the host
  // backend the machine's, which every rank on that machine shares (`memory_shared`).
  double memory_bytes = 0;
  bool memory_shared = false;
};

class Backend;

// What an operation is built from: its parameters, its group, its device, the backend that
// holds shared state (library handles, communicators), and how long it may wait on others.
struct OpContext {
  const Params& params;
  const Group& group;
  int device;
  Backend& backend;
  double deadline = 600;   // seconds a collective may wait before it is aborted
};

// Device telemetry over one measurement, opened before it and closed after it.
class TelemetryWindow {
 public:
  virtual ~TelemetryWindow() = default;
  // {"before": {...}, "after": {...}, "energy_j", "avg_power_w", "throttled", "throttle_reasons"};
  // fields the device cannot report are null.
  virtual nlohmann::json close() = 0;
};

using OpFactory = std::function<std::unique_ptr<Op>(const OpContext&)>;

// What a backend's operation accepts beyond its kind's own choices: parameter -> the values it
// runs (e.g. {"dtype", {"fp32", "fp64"}}); a parameter it does not name takes every value.
// Declared with the operation, so a suite is checked against a backend that cannot start here.
using Support = std::map<std::string, std::vector<std::string>>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Prepares this rank to run: binds its device, sizes its thread pool (local_size ranks share a host).
  virtual void set_up(int local_rank, int local_size) = 0;
  virtual DeviceInfo device(int local_rank) const = 0;
  // The devices this host has for ranks to bind, before set_up (a GPU backend's GPUs; the host
  // backend's one CPU).
  virtual int device_count() const { return 1; }
  // Library versions for the run manifest.
  virtual std::map<std::string, std::string> versions() const = 0;
  // The clock of this rank's launch stream.
  virtual std::unique_ptr<Timer> timer() = 0;
  // Starts watching this rank's device (none where the backend has no telemetry).
  virtual std::unique_ptr<TelemetryWindow> open_telemetry(int) { return nullptr; }
  // The NVLink domain this rank's device belongs to, where the device says (a GB200/GB300
  // NVL72's GPUs share one across 18 hosts); nothing where it does not, and the host's GPUs
  // then form the domain.
  virtual std::optional<std::string> nvlink_domain(int) const { return std::nullopt; }
  // The group has ended (or left use): frees what the backend keeps for it, such as an NCCL
  // communicator. `abandoned`: it ended in a failure, and its peers may be gone or mid-operation,
  // so nothing may wait for them. Never throws.
  virtual void release(const Group&, bool /*abandoned*/ = false) {}

  // Builds the operation of a kind; throws SetupError when this backend lacks it.
  std::unique_ptr<Op> make_op(const std::string& kind, const OpContext& context) const;
};

// Backends and their operations by name; each file registers itself.
class BackendRegistry {
 public:
  static BackendRegistry& instance();
  void add_backend(const std::string& name, std::function<std::unique_ptr<Backend>()> make);
  void add_op(const std::string& backend, const std::string& kind, OpFactory make, Support support = {});
  // Builds the named backend; throws SetupError when it is not built in or cannot start here.
  std::unique_ptr<Backend> create(const std::string& name) const;
  bool has(const std::string& name) const;
  const OpFactory* op(const std::string& backend, const std::string& kind) const;
  // What the backend's operation for a kind accepts; null when it has none.
  const Support* support(const std::string& backend, const std::string& kind) const;
  std::vector<std::string> backends() const;

 private:
  std::map<std::string, std::function<std::unique_ptr<Backend>()>> backends_;
  std::map<std::pair<std::string, std::string>, OpFactory> ops_;
  std::map<std::pair<std::string, std::string>, Support> supports_;
};

struct BackendRegistration {
  BackendRegistration(const std::string& name, std::function<std::unique_ptr<Backend>()> make) {
    BackendRegistry::instance().add_backend(name, std::move(make));
  }
};
struct OpRegistration {
  OpRegistration(const std::string& backend, const std::string& kind, OpFactory make, Support support = {}) {
    BackendRegistry::instance().add_op(backend, kind, std::move(make), std::move(support));
  }
};

}  // namespace rackqual
