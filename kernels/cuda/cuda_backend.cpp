// The cuda backend: device discovery and binding, shared library handles, NCCL communicators,
// and NVML telemetry around each measurement.
#include "kernels/cuda/cuda_backend.hpp"

#include <chrono>
#include <cstdio>
#include <variant>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_arch.hpp"
#include "kernels/cuda/device_binding.hpp"
#include "kernels/cuda/nvml.hpp"
#include "kernels/cuda/telemetry_sampler.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/world/mpi_native.hpp"

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

}  // namespace

CudaBackend::CudaBackend() {
  const cudaError_t rc = cudaGetDeviceCount(&count_);
  if (rc != cudaSuccess)
    throw SetupError(std::string("cuda backend: no usable GPU: ") + cudaGetErrorName(rc) + ": " + cudaGetErrorString(rc));
  if (count_ == 0) throw SetupError("cuda backend: no GPU found");
  nvml_ = std::make_unique<Nvml>();
}

CudaBackend::~CudaBackend() {
  for (auto& [group, comm] : comms_) ncclCommDestroy(comm);
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

ncclComm_t CudaBackend::nccl(const Group& group) {
  auto it = comms_.find(&group);
  if (it != comms_.end()) return it->second;
  ncclUniqueId id{};
  if (group.leader()) RACKQUAL_CHECK(ncclGetUniqueId(&id));
  MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, native_comm(group));
  ncclComm_t comm = nullptr;
  RACKQUAL_CHECK(ncclCommInitRank(&comm, group.size(), id, group.rank()));
  comms_[&group] = comm;
  return comm;
}

void CudaBackend::forget(const Group& group) { comms_.erase(&group); }

namespace {
const BackendRegistration registration("cuda", [] { return std::make_unique<CudaBackend>(); });
}

}  // namespace rackqual::cuda
