#pragma once
// The shapes the training step accepts.
#include "kernels/common/transformer.hpp"

namespace rackqual::model {

// Throws std::invalid_argument naming what is wrong with the shape.
void check_shape(const transformer::Shape& shape);

}  // namespace rackqual::model
