#pragma once
// Every CUDA, cuBLAS(Lt) and NCCL call goes through one of these: a failure throws with the
// call, file:line and the library's own message (the harness adds the rank and host).
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <nccl.h>

#include <stdexcept>
#include <string>

namespace rackqual::cuda {

class Error : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const char* library, const char* call, const char* file, int line, const std::string& message) {
  throw Error(std::string(file) + ":" + std::to_string(line) + ": " + library + ": " + call + ": " + message);
}

inline void check(cudaError_t rc, const char* call, const char* file, int line) {
  if (rc != cudaSuccess) fail("CUDA", call, file, line, std::string(cudaGetErrorName(rc)) + ": " + cudaGetErrorString(rc));
}
inline void check(cublasStatus_t rc, const char* call, const char* file, int line) {
  if (rc != CUBLAS_STATUS_SUCCESS) fail("cuBLASLt", call, file, line, cublasLtGetStatusName(rc) + std::string(": ") + cublasLtGetStatusString(rc));
}
inline void check(ncclResult_t rc, const char* call, const char* file, int line) {
  if (rc != ncclSuccess) fail("NCCL", call, file, line, ncclGetErrorString(rc));
}

}  // namespace rackqual::cuda

#define RACKQUAL_CHECK(call) ::rackqual::cuda::check((call), #call, __FILE__, __LINE__)
