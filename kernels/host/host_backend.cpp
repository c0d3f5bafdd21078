// The host backend: CPUs, host memory and the host fabric (OpenBLAS, OpenMP, MPI).
#include <cblas.h>
#include <mpi.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "kernels/host/timer.hpp"
#include "rackqual/api/backend.hpp"

namespace rackqual {
namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "cpu";
}

class HostBackend : public Backend {
 public:
  std::string name() const override { return "host"; }

  // Ranks on one host share its cores: each gets cores / ranks threads unless OMP_NUM_THREADS says.
  void set_up(int, int local_size) override {
    int threads = std::max(1, omp_get_num_procs() / std::max(1, local_size));
    if (const char* env = std::getenv("OMP_NUM_THREADS"); env && std::atoi(env) > 0) threads = std::atoi(env);
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
    threads_ = threads;
  }

  std::unique_ptr<Timer> timer() override { return std::make_unique<host::SteadyTimer>(); }

  // The CPUs, with the machine's physical memory, shared by every rank on it.
  DeviceInfo device(int local_rank) const override {
    DeviceInfo info{local_rank, cpu_model(), "", ""};
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page > 0) info.memory_bytes = static_cast<double>(pages) * static_cast<double>(page);
    info.memory_shared = true;
    return info;
  }

  std::map<std::string, std::string> versions() const override {
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(mpi, &length);
    std::string mpi_version(mpi, static_cast<std::size_t>(length));
    mpi_version = mpi_version.substr(0, mpi_version.find('\n'));
    return {{"mpi", mpi_version},
            {"openblas", openblas_get_config()},
            {"openmp", std::to_string(_OPENMP)},
            {"compiler", __VERSION__},
            {"threads_per_rank", std::to_string(threads_)}};
  }

 private:
  int threads_ = 1;
};

const BackendRegistration registration("host", [] { return std::make_unique<HostBackend>(); });

}  // namespace
}  // namespace rackqual
