#include "kernels/model/shape_check.hpp"

#include <stdexcept>
#include <string>

namespace rackqual::model {

void check_shape(const transformer::Shape& shape) {
  if (shape.hidden < 1 || shape.heads < 1 || shape.seq < 1 || shape.micro_batch < 1 || shape.layers < 1 || shape.vocab < 2)
    throw std::invalid_argument("transformer shape: every dimension must be positive (vocab at least 2)");
  if (shape.hidden % shape.heads != 0)
    throw std::invalid_argument("transformer shape: " + std::to_string(shape.heads) + " heads do not divide hidden " +
                                std::to_string(shape.hidden));
}

}  // namespace rackqual::model
