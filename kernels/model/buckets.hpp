#pragma once
// Gradient buckets: the runs of the flat gradient buffer that the backward pass completes one
// after another, and so the units the all-reduce starts on while the rest is still computed.
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/common/transformer_math.hpp"

namespace rackqual::model {

struct Bucket {
  std::int64_t first, count;   // elements of the flat buffer
  std::string name;            // "head", "layer 3", "embeddings"
};

// In the order the backward pass completes them: the final layernorm and LM head, each decoder
// layer from the last to the first, then the token and position embeddings. Together they tile
// the flat buffer.
std::vector<Bucket> gradient_buckets(const transformer::Layout& layout);

}  // namespace rackqual::model
