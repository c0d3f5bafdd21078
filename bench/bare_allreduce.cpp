// Bare MPI all-reduce timing loop: the yardstick for rackqual's allreduce figures.
// Usage: bare_allreduce [bytes] [iterations] [repetitions]; fp32 sum, out of place.
// Prints {"bytes":..,"ranks":..,"busbw_gbps":median,"best_busbw_gbps":fastest,...}; busbw = algbw * 2(n-1)/n, algbw = bytes/time/1e9.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  const long bytes = argc > 1 ? std::atol(argv[1]) : 64L << 20;
  const int iterations = argc > 2 ? std::atoi(argv[2]) : 5;
  const int repetitions = argc > 3 ? std::atoi(argv[3]) : 7;
  const int count = static_cast<int>(bytes / sizeof(float));

  std::vector<float> send(count, 1.0f + rank), recv(count, 0.0f);
  auto allreduce = [&] { MPI_Allreduce(send.data(), recv.data(), count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); };
  for (int i = 0; i < 2; ++i) allreduce();  // warm-up: connections, internal buffers

  std::vector<double> seconds;  // per all-reduce, slowest rank, one entry per repetition
  for (int r = 0; r < repetitions; ++r) {
    MPI_Barrier(MPI_COMM_WORLD);
    const double start = MPI_Wtime();
    for (int i = 0; i < iterations; ++i) allreduce();
    double mine = (MPI_Wtime() - start) / iterations, slowest = 0;
    MPI_Allreduce(&mine, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    seconds.push_back(slowest);
  }
  if (recv[count / 2] != ranks * (ranks + 1) / 2.0f) {  // sum over ranks of (1 + rank)
    if (rank == 0) std::fprintf(stderr, "bare_allreduce: wrong result %g\n", recv[count / 2]);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }

  if (rank == 0) {
    std::sort(seconds.begin(), seconds.end());
    const double t = seconds[seconds.size() / 2];  // median (odd count) or upper median
    const double algbw = static_cast<double>(bytes) / t / 1e9;
    const double best = static_cast<double>(bytes) / seconds.front() / 1e9;  // fastest repetition
    const double factor = 2.0 * (ranks - 1) / ranks;
    std::printf("{\"bytes\": %ld, \"ranks\": %d, \"time_us\": %.3f, \"algbw_gbps\": %.6f, \"busbw_gbps\": %.6f, "
                "\"best_busbw_gbps\": %.6f}\n", bytes, ranks, t * 1e6, algbw, algbw * factor, best * factor);
  }
  MPI_Finalize();
  return 0;
}
