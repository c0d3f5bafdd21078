#pragma once
// Page-aligned arrays left uninitialised, so each thread first-touches the pages it will use.
#include <cstdlib>
#include <memory>
#include <new>

namespace rackqual::host {

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

template <typename T>
std::unique_ptr<T[], FreeDeleter> allocate(std::size_t count) {
  const std::size_t bytes = ((count * sizeof(T) + 4095) / 4096) * 4096;
  void* p = std::aligned_alloc(4096, bytes == 0 ? 4096 : bytes);
  if (!p) throw std::bad_alloc();
  return std::unique_ptr<T[], FreeDeleter>(static_cast<T*>(p));
}

template <typename T>
using Array = std::unique_ptr<T[], FreeDeleter>;

}  // namespace rackqual::host
