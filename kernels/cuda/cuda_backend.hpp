#pragma once
// The cuda backend: one rank per GPU (local rank -> device, or the one visible device under
// Slurm's --gpus-per-task=1), cuBLASLt, CUDA kernels, NCCL.
// It holds what the operations share: the device, a stream, the cuBLASLt handle and one
// NCCL communicator per live group (by Group::id), bootstrapped over the group's MPI
// communicator and freed when the group ends (Backend::release).
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <cstdint>
#include <map>
#include <memory>

#include "rackqual/api/backend.hpp"
#include "rackqual/base/defaults.hpp"

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
  std::unique_ptr<Timer> timer() override;   // timer.cpp

  int device_index() const { return device_; }
  cudaStream_t stream() const { return stream_; }
  cublasLtHandle_t lt() const { return lt_; }
  const cudaDeviceProp& properties() const { return properties_; }
  // The group's NCCL communicator, created on first use: collective over the group. Every rank
  // keeps the one it has only when every other does too, else all build a new one; set-up that
  // fails or takes longer than `deadline` seconds on any rank throws SetupError on every rank.
  ncclComm_t nccl(const Group& group, double deadline = defaults::deadline_s);
  // An operation's wait on `comm` completed: no work of it is in flight.
  void settled(const Group& group, ncclComm_t comm);
  // An operation on `comm` failed or ran past its deadline: aborts it (which stops its kernels)
  // unless it has ended already, and forgets it, so that the next use builds a new one.
  void abort(const Group& group, ncclComm_t comm);
  // Destroys the group's communicator, or aborts it where a peer may be gone or work may be in
  // flight (a destroy could then wait for ever).
  void release(const Group& group, bool abandoned = false) override;

 private:
  int count_ = 0;
  int device_ = 0;
  cudaDeviceProp properties_{};
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  struct Communicator {
    ncclComm_t comm = nullptr;
    // Its last operation's wait completed, and no rank has given up on it since: nothing of it
    // is in flight, so destroying it waits for no peer.
    bool healthy = true;
  };
  std::map<std::uint64_t, Communicator> comms_;   // by Group::id
  std::unique_ptr<Nvml> nvml_;
};

}  // namespace rackqual::cuda
