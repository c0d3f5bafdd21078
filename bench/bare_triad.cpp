// Bare OpenMP STREAM triad a[i] = b[i] + q*c[i]: the yardstick for rackqual's hbm triad figure.
// Usage: bare_triad [bytes per array] [iterations] [repetitions]; threads from OMP_NUM_THREADS.
// Prints {"bytes":..,"threads":..,"gbps":median,"best_gbps":fastest}; GB/s = 3 arrays * bytes / time per pass / 1e9.
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  const long bytes = argc > 1 ? std::atol(argv[1]) : 256L << 20;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 5;
  const int repetitions = argc > 3 ? std::atoi(argv[3]) : 7;
  const long n = bytes / static_cast<long>(sizeof(double));
  const double q = 0.4;

  // Page-aligned and untouched, so the first touch below places each page with its thread.
  double* __restrict a = static_cast<double*>(std::aligned_alloc(4096, n * sizeof(double)));
  double* __restrict b = static_cast<double*>(std::aligned_alloc(4096, n * sizeof(double)));
  double* __restrict c = static_cast<double*>(std::aligned_alloc(4096, n * sizeof(double)));
  if (!a || !b || !c) return 1;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {
    a[i] = 0.0;
    b[i] = 1.0;
    c[i] = 2.0;
  }

  auto triad = [&] {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) a[i] = b[i] + q * c[i];
  };
  for (int i = 0; i < 2; ++i) triad();  // warm-up: thread pool, TLB

  std::vector<double> seconds;  // per pass, one entry per repetition
  for (int r = 0; r < repetitions; ++r) {
    const double start = omp_get_wtime();
    for (int i = 0; i < iterations; ++i) triad();
    seconds.push_back((omp_get_wtime() - start) / iterations);
  }
  if (a[n / 2] != 1.0 + q * 2.0) return 1;

  std::sort(seconds.begin(), seconds.end());
  const double t = seconds[seconds.size() / 2];  // median (odd count) or upper median
  std::printf("{\"bytes\": %ld, \"threads\": %d, \"time_us\": %.3f, \"gbps\": %.6f, \"best_gbps\": %.6f}\n", bytes,
              omp_get_max_threads(), t * 1e6, 3.0 * static_cast<double>(bytes) / t / 1e9,
              3.0 * static_cast<double>(bytes) / seconds.front() / 1e9);
  std::free(a);
  std::free(b);
  std::free(c);
  return 0;
}
