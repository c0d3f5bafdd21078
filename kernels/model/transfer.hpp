#pragma once
// Values of a backend's buffer as doubles, whatever its element type: for tests, the weight
// loader and the scalars the step reads back.
#include <vector>

#include "kernels/model/primitives.hpp"

namespace rackqual::model {

// Every element of `src`, converted exactly to double.
std::vector<double> read_values(Primitives& primitives, View src);
// dst = values, each rounded to dst's type (nearest even); values.size() must be dst.count.
void write_values(Primitives& primitives, const std::vector<double>& values, View dst);

}  // namespace rackqual::model
