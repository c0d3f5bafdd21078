// The cuda backend: device discovery and binding, shared library handles, NCCL communicators,
// and NVML telemetry around each measurement.
#include "kernels/cuda/cuda_backend.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>
#include <variant>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_arch.hpp"
#include "kernels/cuda/device_binding.hpp"
#include "kernels/cuda/nvml.hpp"
#include "kernels/cuda/telemetry_sampler.hpp"
#include "rackqual/base/error.hpp"

#ifndef RACKQUAL_CUDA_ARCHITECTURES
#error "RACKQUAL_CUDA_ARCHITECTURES (CMAKE_CUDA_ARCHITECTURES) must be defined by kernels/CMakeLists.txt"
#endif

namespace rackqual::cuda {
namespace {

std::string uuid_text(const cudaUUID_t& uuid) {
  const auto* b = reinterpret_cast<const unsigned char*>(uuid.bytes);
  char text[48];
  std::snprintf(text, sizeof text, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return text;
}

std::string pci_bus_id(int device) {
  char id[32] = {};
  RACKQUAL_CHECK(cudaDeviceGetPCIBusId(id, sizeof id, device));
  return id;
}

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

// A snapshot when opened (violation counters included), samples every 100 ms while open, and
// a snapshot when closed; the summary says what happened in between.
class NvmlWindow : public TelemetryWindow {
 public:
  NvmlWindow(const Nvml& nvml, std::string bus)
      : nvml_(nvml),
        bus_(std::move(bus)),
        before_(nvml.snapshot(bus_)),
        start_(std::chrono::steady_clock::now()),
        sampler_(nvml, bus_) {}
  nlohmann::json close() override {
    const nlohmann::json samples = sampler_.stop();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return summarize_window(before_, nvml_.snapshot(bus_), seconds, samples);
  }

 private:
  const Nvml& nvml_;
  std::string bus_;
  nlohmann::json before_;
  std::chrono::steady_clock::time_point start_;
  TelemetrySampler sampler_;
};

using Clock = std::chrono::steady_clock;

std::string nccl_text(ncclResult_t rc) {
  return rc == ncclInProgress ? std::string("did not finish within the deadline") : ncclGetErrorString(rc);
}

// The leader's unique id on every rank; when it could not make one, the same SetupError on
// every rank (none is left waiting for an id).
ncclUniqueId agreed_unique_id(const Group& group) {
  std::string message;
  if (group.leader()) {
    ncclUniqueId id{};
    const ncclResult_t rc = ncclGetUniqueId(&id);
    message.assign(1, rc == ncclSuccess ? 'i' : 'e');
    if (rc == ncclSuccess) message.append(id.internal, sizeof id.internal);
    else message.append(nccl_text(rc));
  }
  message = group.broadcast(message);
  if (message.size() != 1 + sizeof(ncclUniqueId) || message[0] != 'i')
    throw SetupError("NCCL communicator of " + group.name() + ": the leader made no unique id: " +
                     (message.empty() ? std::string("no answer") : message.substr(1)));
  ncclUniqueId id{};
  std::memcpy(id.internal, message.data() + 1, sizeof id.internal);
  return id;
}

// Polls a non-blocking communicator whose call (init, split) returned `rc`: the call's outcome,
// or ncclInProgress when `until` came first.
ncclResult_t outcome(ncclComm_t comm, ncclResult_t rc, Clock::time_point until) {
  while (rc == ncclInProgress) {
    if (Clock::now() > until) return ncclInProgress;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    if (const ncclResult_t query = ncclCommGetAsyncError(comm, &rc); query != ncclSuccess) return query;
  }
  return rc;
}

[[noreturn]] void set_up_failed(const Group& group, const char* step, ncclResult_t mine) {
  throw SetupError("NCCL communicator of " + group.name() + ": " + step + " failed " +
                   (mine == ncclSuccess ? std::string("on another rank") : "here: " + nccl_text(mine)));
}

// A blocking communicator over the group, made without waiting past `deadline` seconds for any
// peer. NCCL can poll and abort only a non-blocking communicator, whose every later call
// (each collective) would also return before it is enqueued; so the non-blocking one is
// split into the blocking one the operations use, then destroyed. Every rank agrees on each
// step; where one failed, all abort what they made and throw.
ncclComm_t connect(const Group& group, double deadline) {
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(deadline));
  const ncclUniqueId id = agreed_unique_id(group);
  ncclConfig_t polled = NCCL_CONFIG_INITIALIZER;
  polled.blocking = 0;
  polled.splitShare = 0;   // the split owns its resources: the first can go
  ncclComm_t first = nullptr;
  ncclResult_t rc = outcome(first, ncclCommInitRankConfig(&first, group.size(), id, group.rank(), &polled), until);
  if (!group.all(rc == ncclSuccess)) {
    if (first) ncclCommAbort(first);
    set_up_failed(group, "init", rc);
  }
  ncclConfig_t blocking = NCCL_CONFIG_INITIALIZER;
  blocking.blocking = 1;
  ncclComm_t comm = nullptr;
  // The split runs on NCCL's thread and stores `comm` when done; its state is the first's.
  rc = outcome(first, ncclCommSplit(first, 0, group.rank(), &comm, &blocking), until);
  if (rc == ncclSuccess && !__atomic_load_n(&comm, __ATOMIC_ACQUIRE)) rc = ncclInternalError;
  if (!group.all(rc == ncclSuccess)) {
    ncclCommAbort(first);   // joins the split first, as NCCL's documentation orders
    if (ncclComm_t made = __atomic_load_n(&comm, __ATOMIC_ACQUIRE)) ncclCommAbort(made);
    set_up_failed(group, "split", rc);
  }
  ncclCommDestroy(first);   // idle and settled: returns without waiting for peers
  return comm;
}

bool stream_idle(cudaStream_t stream) { return !stream || cudaStreamQuery(stream) == cudaSuccess; }

// Destroys a communicator known idle; aborts any other, which waits for no peer.
void end_communicator(ncclComm_t comm, bool idle) {
  ncclResult_t state = ncclSuccess;
  if (idle && ncclCommGetAsyncError(comm, &state) == ncclSuccess && state == ncclSuccess)
    ncclCommDestroy(comm);
  else
    ncclCommAbort(comm);
}

}  // namespace

CudaBackend::CudaBackend() {
  const cudaError_t rc = cudaGetDeviceCount(&count_);
  if (rc != cudaSuccess)
    throw SetupError(std::string("cuda backend: no usable GPU: ") + cudaGetErrorName(rc) + ": " + cudaGetErrorString(rc));
  if (count_ == 0) throw SetupError("cuda backend: no GPU found");
  nvml_ = std::make_unique<Nvml>();
}

CudaBackend::~CudaBackend() {
  for (auto& [id, c] : comms_) end_communicator(c.comm, c.healthy && stream_idle(stream_));
  if (lt_) cublasLtDestroy(lt_);
  if (stream_) cudaStreamDestroy(stream_);
}

// Binds this rank's device (see choose_device) and checks that this build has code it can run.
void CudaBackend::set_up(int local_rank, int local_size) {
  const DeviceChoice choice = choose_device(local_rank, local_size, count_);
  if (const auto* why = std::get_if<std::string>(&choice)) throw SetupError(*why);
  device_ = std::get<int>(choice);
  RACKQUAL_CHECK(cudaSetDevice(device_));
  RACKQUAL_CHECK(cudaGetDeviceProperties(&properties_, device_));
  if (const auto why = unsupported_architecture(properties_.name, properties_.major, properties_.minor,
                                                RACKQUAL_CUDA_ARCHITECTURES))
    throw SetupError(*why);
  RACKQUAL_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  RACKQUAL_CHECK(cublasLtCreate(&lt_));
}

// The device set_up bound, whatever local rank asks: under one GPU per task every rank's is index 0.
DeviceInfo CudaBackend::device(int) const {
  cudaDeviceProp p{};
  RACKQUAL_CHECK(cudaGetDeviceProperties(&p, device_));
  DeviceInfo info{device_, p.name, uuid_text(p.uuid), ""};
  info.memory_bytes = static_cast<double>(p.totalGlobalMem);
  const auto state = nvml_->snapshot(pci_bus_id(device_));
  if (state.contains("serial") && state["serial"].is_string()) info.serial = state["serial"];
  return info;
}

std::map<std::string, std::string> CudaBackend::versions() const {
  int driver = 0, runtime = 0, nccl = 0;
  cudaDriverGetVersion(&driver);
  cudaRuntimeGetVersion(&runtime);
  ncclGetVersion(&nccl);
  std::map<std::string, std::string> v = {{"cuda_driver_api", version_text(driver)},
                                          {"cuda_runtime", version_text(runtime)},
                                          {"nccl", std::to_string(nccl / 10000) + "." + std::to_string(nccl / 100 % 100) + "." +
                                                       std::to_string(nccl % 100)},
                                          {"cublaslt", std::to_string(cublasLtGetVersion())},
                                          {"gpu", properties_.name},
                                          {"sm", std::to_string(properties_.major) + std::to_string(properties_.minor)}};
  v["driver"] = nvml_->available() ? nvml_->driver_version() : "unknown (" + nvml_->why() + ")";
  return v;
}

// Telemetry of the bound device over one measurement.
std::unique_ptr<TelemetryWindow> CudaBackend::open_telemetry(int) {
  return std::make_unique<NvmlWindow>(*nvml_, pci_bus_id(device_));
}

std::optional<std::string> CudaBackend::nvlink_domain(int) const {
  const auto fabric = nvml_->gpu_fabric(pci_bus_id(device_));
  return fabric ? fabric->domain() : std::nullopt;
}

// Every rank keeps its cached communicator only when all do: a rank that aborted its own
// (nccl_wait.hpp) builds a new one, and its peers must build it with it, not wait in the old.
ncclComm_t CudaBackend::nccl(const Group& group, double deadline) {
  auto it = comms_.find(group.id());
  const bool cached = it != comms_.end();
  if (group.all(cached)) {
    it->second.healthy = false;   // an operation is about to use it
    return it->second.comm;
  }
  if (cached) {
    ncclCommAbort(it->second.comm);
    comms_.erase(it);
  }
  const ncclComm_t comm = connect(group, deadline);
  comms_[group.id()] = {comm, false};
  return comm;
}

void CudaBackend::settled(const Group& group, ncclComm_t comm) {
  const auto it = comms_.find(group.id());
  if (it != comms_.end() && it->second.comm == comm) it->second.healthy = true;
}

void CudaBackend::abort(const Group& group, ncclComm_t comm) {
  const auto it = comms_.find(group.id());
  if (it == comms_.end() || it->second.comm != comm) return;   // ended already: never abort twice
  comms_.erase(it);
  ncclCommAbort(comm);
}

void CudaBackend::release(const Group& group, bool abandoned) {
  const auto it = comms_.find(group.id());
  if (it == comms_.end()) return;
  const Communicator c = it->second;
  comms_.erase(it);
  end_communicator(c.comm, !abandoned && c.healthy && stream_idle(stream_));
}

namespace {
const BackendRegistration registration("cuda", [] { return std::make_unique<CudaBackend>(); });
}

}  // namespace rackqual::cuda
