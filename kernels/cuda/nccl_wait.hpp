#pragma once
// Waiting for work that includes NCCL collectives without blocking forever: an asynchronous
// NCCL error, or the deadline passing (a peer that never arrives, ncclInProgress that never
// ends), aborts the communicator, which stops its kernels, and throws.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "kernels/cuda/check.hpp"
#include "kernels/cuda/cuda_backend.hpp"

namespace rackqual::cuda {

// Waits for `done` (an event recorded after the collectives); then the backend knows `comm`
// idle. On failure the backend aborts `comm` and forgets it (the next use, on every rank of the
// group, builds a new one: CudaBackend::nccl), `comm` is set to null, and the error names
// `what` ("NCCL all-reduce", ...). The first polls spin (a short
// collective ends within microseconds); after them the wait sleeps, doubling from 1 us to 64 us,
// so that a long collective leaves the CPU to NCCL's proxy thread and the other ranks.
inline void wait_or_abort(cudaEvent_t done, ncclComm_t& comm, CudaBackend& backend, const Group& group, double deadline,
                          const std::string& what) {
  const auto begin = std::chrono::steady_clock::now();
  auto abandon = [&](const std::string& why) {
    backend.abort(group, std::exchange(comm, nullptr));
    throw std::runtime_error(why + "; communicator aborted");
  };
  constexpr int spin_polls = 16;
  constexpr auto longest_sleep = std::chrono::microseconds(64);
  auto sleep = std::chrono::microseconds(1);
  for (int poll = 0;; ++poll) {
    const cudaError_t state = cudaEventQuery(done);
    if (state == cudaSuccess) {
      backend.settled(group, comm);
      return;
    }
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
    if (poll >= spin_polls) {
      std::this_thread::sleep_for(sleep);
      sleep = std::min(2 * sleep, longest_sleep);
    }
  }
}

}  // namespace rackqual::cuda
