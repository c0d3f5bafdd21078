// The cuda backend: device discovery and binding, shared library handles, NCCL communicators,
// and NVML telemetry around each measurement.
#include "kernels/cuda/cuda_backend.hpp"

#include <chrono>
#include <cstdio>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/nvml.hpp"
#include "rackqual/error.hpp"
#include "rackqual/mpi_native.hpp"

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

class NvmlWindow : public TelemetryWindow {
 public:
  NvmlWindow(const Nvml& nvml, std::string bus)
      : nvml_(nvml), bus_(std::move(bus)), before_(nvml.snapshot(bus_)), start_(std::chrono::steady_clock::now()) {}
  nlohmann::json close() override {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    return summarize_window(before_, nvml_.snapshot(bus_), seconds);
  }

 private:
  const Nvml& nvml_;
  std::string bus_;
  nlohmann::json before_;
  std::chrono::steady_clock::time_point start_;
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

void CudaBackend::set_up(int local_rank, int local_size) {
  if (local_size > count_)
    throw SetupError("cuda backend: " + std::to_string(local_size) + " ranks on this host but " + std::to_string(count_) +
                     " GPUs: launch one rank per GPU");
  device_ = local_rank;
  RACKQUAL_CHECK(cudaSetDevice(device_));
  RACKQUAL_CHECK(cudaGetDeviceProperties(&properties_, device_));
  RACKQUAL_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  RACKQUAL_CHECK(cublasLtCreate(&lt_));
}

DeviceInfo CudaBackend::device(int local_rank) const {
  cudaDeviceProp p{};
  RACKQUAL_CHECK(cudaGetDeviceProperties(&p, local_rank));
  DeviceInfo info{local_rank, p.name, uuid_text(p.uuid), ""};
  const auto state = nvml_->snapshot(pci_bus_id(local_rank));
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

std::unique_ptr<TelemetryWindow> CudaBackend::open_telemetry(int local_rank) {
  return std::make_unique<NvmlWindow>(*nvml_, pci_bus_id(local_rank));
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
