#pragma once
// The cuda backend: one rank per GPU (local rank -> device, or the one visible device under
// Slurm's --gpus-per-task=1), cuBLASLt, CUDA kernels, NCCL.
// It holds what the operations share: the device, a stream, the cuBLASLt handle and one
// NCCL communicator per group, bootstrapped over the group's MPI communicator.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <map>
#include <memory>

#include "rackqual/api/backend.hpp"

namespace rackqual::cuda {

class Nvml;

class CudaBackend : public Backend {
 public:
  // Throws SetupError in one line when there is no GPU or no driver.
  CudaBackend();
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  // Binds the rank's device; throws SetupError in one line when it cannot, or when this build
  // has no code for the device's compute capability.
  void set_up(int local_rank, int local_size) override;
  // The bound device (index, name, uuid, serial), whatever the argument.
  DeviceInfo device(int local_rank) const override;
  int device_count() const override { return count_; }
  std::map<std::string, std::string> versions() const override;
  std::unique_ptr<TelemetryWindow> open_telemetry(int local_rank) override;
  // The bound device's NVLink fabric, "<cluster uuid>/<clique id>", once NVML says it is
  // registered with one (GB200/GB300 NVL72); nothing otherwise.
  std::optional<std::string> nvlink_domain(int local_rank) const override;
  std::unique_ptr<Timer> timer() override;   // timer.cu

  int device_index() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cublasLtHandle_t lt() const { return lt_; }
  const cudaDeviceProp& properties() const { return properties_; }
  // The group's NCCL communicator, created on first use (collective over the group).
  ncclComm_t nccl(const Group& group);
  // After ncclCommAbort: forget the communicator, so that the next use builds a new one.
  void forget(const Group& group);

 private:
  int count_ = 0;
  int device_ = 0;
  cudaDeviceProp properties_{};
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  std::map<const Group*, ncclComm_t> comms_;
  std::unique_ptr<Nvml> nvml_;
};

}  // namespace rackqual::cuda
