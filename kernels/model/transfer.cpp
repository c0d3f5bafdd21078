#include "kernels/model/transfer.hpp"

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "kernels/common/dtype.hpp"

namespace rackqual::model {

namespace {

[[noreturn]] void no_conversion(const char* what, DType type) {
  throw std::invalid_argument(std::string(what) + ": the training step keeps no " + std::string(to_string(type)) + " buffers");
}

// One element of `type` at p, as a double.
double read_value(const unsigned char* p, DType type) {
  switch (type) {
    case DType::fp32: { float f; std::memcpy(&f, p, 4); return f; }
    case DType::fp64: { double d; std::memcpy(&d, p, 8); return d; }
    case DType::bf16: { std::uint16_t h; std::memcpy(&h, p, 2); return dtype::bf16_to_float(h); }
    case DType::int32: { std::int32_t k; std::memcpy(&k, p, 4); return k; }
    default: no_conversion("read_values", type);
  }
}

// `value` stored as one element of `type` at p (rounded to nearest even for bf16).
void write_value(unsigned char* p, DType type, double value) {
  switch (type) {
    case DType::fp32: { const auto f = static_cast<float>(value); std::memcpy(p, &f, 4); return; }
    case DType::fp64: std::memcpy(p, &value, 8); return;
    case DType::bf16: { const std::uint16_t h = dtype::float_to_bf16(static_cast<float>(value)); std::memcpy(p, &h, 2); return; }
    case DType::int32: { const auto k = static_cast<std::int32_t>(value); std::memcpy(p, &k, 4); return; }
    default: no_conversion("write_values", type);
  }
}

}  // namespace

std::vector<double> read_values(Primitives& primitives, View src) {
  std::vector<unsigned char> bytes(src.bytes());
  primitives.download(src, bytes.data());
  std::vector<double> values(static_cast<std::size_t>(src.count));
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = read_value(bytes.data() + i * size_of(src.type), src.type);
  return values;
}

void write_values(Primitives& primitives, const std::vector<double>& values, View dst) {
  if (static_cast<std::int64_t>(values.size()) != dst.count)
    throw std::invalid_argument("write_values: " + std::to_string(values.size()) + " values for a view of " +
                                std::to_string(dst.count));
  std::vector<unsigned char> bytes(dst.bytes());
  for (std::size_t i = 0; i < values.size(); ++i) write_value(bytes.data() + i * size_of(dst.type), dst.type, values[i]);
  primitives.upload(bytes.data(), dst);
}

}  // namespace rackqual::model
