#pragma once
// A typed window onto memory that a backend owns (host memory or device memory): the model
// passes views to the backend's primitives and never reads through them itself.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "rackqual/base/dtype.hpp"

namespace rackqual::model {

// Bytes of one element.
inline std::size_t size_of(DType t) { return static_cast<std::size_t>(traits(t).bytes); }

struct View {
  void* data = nullptr;
  DType type = DType::fp32;
  std::int64_t count = 0;

  // Elements [first, first + n) of this view.
  View at(std::int64_t first, std::int64_t n) const {
    if (first < 0 || n < 0 || first + n > count)
      throw std::out_of_range("view: elements [" + std::to_string(first) + ", " + std::to_string(first + n) +
                              ") outside a view of " + std::to_string(count));
    return {static_cast<char*>(data) + static_cast<std::size_t>(first) * size_of(type), type, n};
  }
  // Element `first` to the end.
  View from(std::int64_t first) const { return at(first, count - first); }
  std::size_t bytes() const { return static_cast<std::size_t>(count) * size_of(type); }
  bool same(const View& other) const { return data == other.data && type == other.type; }
};

// The view's elements as T, whose element type is `type`; throws naming `backend` when the view
// holds another type.
template <typename T>
T* elements(View v, DType type, const char* backend) {
  if (v.type != type)
    throw std::invalid_argument(std::string(backend) + ": a transformer buffer of " + std::string(to_string(v.type)) + " where " +
                                std::string(to_string(type)) + " was expected");
  return static_cast<T*>(v.data);
}

}  // namespace rackqual::model
