#pragma once
// What a point-to-point transfer carries: random bytes, none of them zero, fixed by the sending
// rank and the position, so the receiver knows exactly what its neighbour sent. Receive
// buffers start zeroed: a byte that never arrived cannot pass for one that did.
#include <cstdint>

#include "kernels/common/hd.hpp"
#include "kernels/common/random.hpp"

namespace rackqual::p2p {

// Bytes 8w .. 8w+7 of what group rank `sender` sends, little end first (byte 8w + k is bits
// 8k .. 8k+7).
RACKQUAL_HD inline std::uint64_t word(int sender, std::uint64_t w) {
  std::uint64_t x = random::mix(random::mix(0x9e2b00 + static_cast<std::uint64_t>(sender)) ^ w);
  for (int bit = 0; bit < 64; bit += 8)
    if (((x >> bit) & 0xff) == 0) x |= std::uint64_t{0xa5} << bit;
  return x;
}

// Byte i of what group rank `sender` sends.
RACKQUAL_HD inline unsigned char byte(int sender, std::uint64_t i) {
  return static_cast<unsigned char>(word(sender, i / 8) >> (8 * (i % 8)));
}

// The ring's neighbours of group rank `rank` among `ranks` (one and the same for two ranks).
RACKQUAL_HD inline int right(int rank, int ranks) { return (rank + 1) % ranks; }
RACKQUAL_HD inline int left(int rank, int ranks) { return (rank + ranks - 1) % ranks; }

}  // namespace rackqual::p2p
