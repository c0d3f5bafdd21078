#pragma once
// What makes OpenBLAS products bit-reproducible beyond the CPU model: its version, the kernel it
// chose for the CPU, and the threads that split each product (the split moves the edges of the
// tiles, whose kernels sum in another order), for the consensus vote's setting (Op::digest).
#include <cblas.h>

#include <sstream>
#include <string>

namespace rackqual::host {

// "OpenBLAS 0.3.21 Zen, 4 threads"
inline std::string blas_setting() {
  std::istringstream config(openblas_get_config());
  std::string library, version;
  config >> library >> version;
  const int threads = openblas_get_num_threads();
  return library + " " + version + " " + openblas_get_corename() + ", " + std::to_string(threads) +
         (threads == 1 ? " thread" : " threads");
}

}  // namespace rackqual::host
