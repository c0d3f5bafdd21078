#pragma once
// A fast fingerprint of a buffer, to compare weights across ranks without moving them.
#include <cstdint>
#include <cstring>

namespace rackqual {

// FNV-1a over 64-bit words (then the tail bytes): equal buffers give equal hashes.
inline std::uint64_t fnv1a_words(const void* data, std::size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t hash = 0xcbf29ce484222325ull;
  std::size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    hash = (hash ^ word) * 0x100000001b3ull;
  }
  for (; i < bytes; ++i) hash = (hash ^ p[i]) * 0x100000001b3ull;
  return hash;
}

}  // namespace rackqual
