#include "kernels/model/tokens.hpp"

#include <algorithm>

#include "kernels/common/random.hpp"

namespace rackqual::model {

std::vector<std::int32_t> synthetic_tokens(const transformer::Shape& shape, std::uint64_t seed) {
  std::vector<std::int32_t> tokens(static_cast<std::size_t>(token_count(shape)));
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const double u = random::uniform(seed, static_cast<std::uint64_t>(i));
    const auto t = static_cast<std::int64_t>(u * static_cast<double>(shape.vocab));
    tokens[i] = static_cast<std::int32_t>(std::min(t, shape.vocab - 1));
  }
  return tokens;
}

}  // namespace rackqual::model
