#include "kernels/model/transfer.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "kernels/common/dtype.hpp"

namespace rackqual::model {

std::vector<double> read_values(Primitives& primitives, View src) {
  std::vector<unsigned char> bytes(src.bytes());
  primitives.download(src, bytes.data());
  std::vector<double> values(static_cast<std::size_t>(src.count));
  for (std::size_t i = 0; i < values.size(); ++i) {
    const unsigned char* p = bytes.data() + i * size_of(src.type);
    switch (src.type) {
      case DType::f32: { float f; std::memcpy(&f, p, 4); values[i] = f; break; }
      case DType::f64: std::memcpy(&values[i], p, 8); break;
      case DType::bf16: { std::uint16_t h; std::memcpy(&h, p, 2); values[i] = dtype::bf16_to_float(h); break; }
      case DType::i32: { std::int32_t k; std::memcpy(&k, p, 4); values[i] = k; break; }
    }
  }
  return values;
}

void write_values(Primitives& primitives, const std::vector<double>& values, View dst) {
  if (static_cast<std::int64_t>(values.size()) != dst.count)
    throw std::invalid_argument("write_values: " + std::to_string(values.size()) + " values for a view of " +
                                std::to_string(dst.count));
  std::vector<unsigned char> bytes(dst.bytes());
  for (std::size_t i = 0; i < values.size(); ++i) {
    unsigned char* p = bytes.data() + i * size_of(dst.type);
    switch (dst.type) {
      case DType::f32: { const auto f = static_cast<float>(values[i]); std::memcpy(p, &f, 4); break; }
      case DType::f64: std::memcpy(p, &values[i], 8); break;
      case DType::bf16: { const std::uint16_t h = dtype::float_to_bf16(static_cast<float>(values[i])); std::memcpy(p, &h, 2); break; }
      case DType::i32: { const auto k = static_cast<std::int32_t>(values[i]); std::memcpy(p, &k, 4); break; }
    }
  }
  primitives.upload(bytes.data(), dst);
}

}  // namespace rackqual::model
