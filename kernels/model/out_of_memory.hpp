#pragma once
// The error a backend raises when an allocation fails, with the bytes it asked for, so that the
// operation can tell the other ranks and the crew can see how far the shape overshoots.
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace rackqual::model {

class OutOfMemory : public std::runtime_error {
 public:
  // `where`: the memory that ran out ("the host", "GPU 0 (NVIDIA H100 80GB HBM3)"); `bytes`:
  // what was asked for; `held`: what the caller had allocated before.
  OutOfMemory(const std::string& where, std::size_t bytes, std::size_t held)
      : std::runtime_error(message(where, bytes, held)), bytes_(bytes) {}
  std::size_t bytes() const { return bytes_; }

 private:
  static std::string message(const std::string& where, std::size_t bytes, std::size_t held) {
    constexpr double gib = 1024.0 * 1024.0 * 1024.0;
    char text[160];
    std::snprintf(text, sizeof text, "%zu bytes (%.2f GiB) asked for, %.2f GiB already held", bytes,
                  static_cast<double>(bytes) / gib, static_cast<double>(held) / gib);
    return "out of memory on " + where + ": " + text;
  }
  std::size_t bytes_;
};

}  // namespace rackqual::model
