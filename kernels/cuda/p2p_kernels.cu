// The p2p kernels: each rank's bytes written, and every received byte checked, on the device.
#include "kernels/cuda/p2p_kernels.hpp"

#include "kernels/common/p2p.hpp"
#include "kernels/cuda/grid.hpp"

namespace rackqual::cuda {
namespace {
namespace kernel {

// What group rank `sender` sends: whole words, then the tail bytes (cudaMalloc aligns to 256 bytes).
__global__ void fill(unsigned char* out, std::int64_t bytes, int sender) {
  const std::int64_t words = bytes / 8;
  auto* out_words = reinterpret_cast<std::uint64_t*>(out);
  for (std::int64_t w = first_index(); w < words; w += grid_size()) out_words[w] = p2p::word(sender, w);
  for (std::int64_t i = 8 * words + first_index(); i < bytes; i += grid_size()) out[i] = p2p::byte(sender, i);
}

// counters[0] += bytes that differ from what group rank `sender` sends; counters[1] = min(their index).
__global__ void check(const unsigned char* got, std::int64_t bytes, int sender, unsigned long long* counters) {
  const std::int64_t words = (bytes + 7) / 8;
  unsigned long long wrong = 0;
  for (std::int64_t w = first_index(); w < words; w += grid_size()) {
    const std::uint64_t want = p2p::word(sender, w);
    std::uint64_t diff = 0;
    if (8 * w + 8 <= bytes) {
      diff = reinterpret_cast<const std::uint64_t*>(got)[w] ^ want;
    } else {
      for (std::int64_t i = 8 * w; i < bytes; ++i) diff |= std::uint64_t{got[i]} << (8 * (i - 8 * w));
      diff ^= want & ((std::uint64_t{1} << (8 * (bytes - 8 * w))) - 1);
    }
    for (int k = 0; diff && k < 8; ++k)
      if ((diff >> (8 * k)) & 0xff) {
        ++wrong;
        atomicMin(&counters[1], static_cast<unsigned long long>(8 * w + k));
      }
  }
  if (wrong) atomicAdd(&counters[0], wrong);
}

}  // namespace kernel
}  // namespace

void launch_p2p_fill(int blocks, unsigned char* out, std::int64_t bytes, int sender, cudaStream_t stream) {
  kernel::fill<<<blocks, threads_per_block, 0, stream>>>(out, bytes, sender);
}

void launch_p2p_check(int blocks, const unsigned char* got, std::int64_t bytes, int sender, unsigned long long* counters,
                      cudaStream_t stream) {
  kernel::check<<<blocks, threads_per_block, 0, stream>>>(got, bytes, sender, counters);
}

}  // namespace rackqual::cuda
