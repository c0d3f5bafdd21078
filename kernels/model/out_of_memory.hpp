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
  // `where`: the memory that ran out ("host memory", "GPU 0 (NVIDIA H100 80GB HBM3)").
  OutOfMemory(const std::string& where, std::size_t bytes) : std::runtime_error(message(where, bytes)), bytes_(bytes) {}
  std::size_t bytes() const { return bytes_; }

 private:
  static std::string message(const std::string& where, std::size_t bytes) {
    char size[64];
    std::snprintf(size, sizeof size, "%zu bytes (%.2f GiB)", bytes, static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
    return "out of memory: " + where + " could not allocate " + size;
  }
  std::size_t bytes_;
};

}  // namespace rackqual::model
