#pragma once
// The synthetic micro-batch every backend trains on.
#include <cstdint>
#include <vector>

#include "kernels/common/transformer.hpp"

namespace rackqual::model {

// Tokens of a micro-batch: micro_batch rows of seq + 1 token ids; position s of a row is the
// input at s and the target at s - 1 (next-token prediction).
inline std::int64_t token_count(const transformer::Shape& s) { return s.micro_batch * (s.seq + 1); }

// Synthetic tokens, uniform over the vocabulary, from the counter RNG: stream `seed`.
std::vector<std::int32_t> synthetic_tokens(const transformer::Shape& shape, std::uint64_t seed);

}  // namespace rackqual::model
