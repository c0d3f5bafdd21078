#include "kernels/model/buckets.hpp"

namespace rackqual::model {

std::vector<Bucket> gradient_buckets(const transformer::Layout& layout) {
  std::vector<Bucket> buckets;
  const std::int64_t head = layout.offset(transformer::Tensor::final_gamma);
  buckets.push_back({head, layout.total() - head, "head"});
  for (std::int64_t l = layout.layers() - 1; l >= 0; --l)
    buckets.push_back({layout.layers_begin() + l * layout.layer_size(), layout.layer_size(), "layer " + std::to_string(l)});
  buckets.push_back({0, layout.layers_begin(), "embeddings"});
  return buckets;
}

}  // namespace rackqual::model
