#pragma once
// Waiting for work that includes NCCL collectives without blocking forever: an asynchronous
// NCCL error, or the deadline passing (a peer that never arrives, ncclInProgress that never
// ends), aborts the communicator, which stops its kernels, and throws.
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_backend.hpp"

namespace rackqual::cuda {

// Waits for `done` (an event recorded after the collectives). On failure the backend forgets
// the group's communicator (the next use builds a new one), `comm` is aborted and set to
// null, and the error names `what` ("NCCL all-reduce", ...).
inline void wait_or_abort(cudaEvent_t done, ncclComm_t& comm, CudaBackend& backend, const Group& group, double deadline,
                          const std::string& what) {
  const auto begin = std::chrono::steady_clock::now();
  auto abandon = [&](const std::string& why) {
    backend.forget(group);
    RACKQUAL_CHECK(ncclCommAbort(std::exchange(comm, nullptr)));
    throw std::runtime_error(why + "; communicator aborted");
  };
  for (;;) {
    const cudaError_t state = cudaEventQuery(done);
    if (state == cudaSuccess) return;
    if (state != cudaErrorNotReady) RACKQUAL_CHECK(state);
    ncclResult_t nccl = ncclSuccess;
    RACKQUAL_CHECK(ncclCommGetAsyncError(comm, &nccl));
    if (nccl != ncclSuccess && nccl != ncclInProgress) {
      const std::string last = ncclGetLastError(comm);
      abandon(what + " failed: " + ncclGetErrorString(nccl) + (last.empty() ? "" : " (" + last + ")"));
    }
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count() > deadline) {
      char limit[48];
      std::snprintf(limit, sizeof limit, "%g s", deadline);
      abandon(what + " did not complete within " + limit);
    }
  }
}

}  // namespace rackqual::cuda
