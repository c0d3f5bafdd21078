#pragma once
// The training step's own check, the same on every backend: the first loss is finite, more
// steps on the same batch lower it, and every rank holds the same weights (hashes compared
// before and after those steps).
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "rackqual/api/backend.hpp"

namespace rackqual::transformer {

// `first` and `last`: the loss of the first step and after `steps` steps in all;
// `before`/`after`: every rank's weight hash (index = rank in the group).
inline Correctness judge_training(float first, float last, int steps, const std::vector<std::uint64_t>& before,
                                  const std::vector<std::uint64_t>& after) {
  std::string problems;
  char text[200];
  auto problem = [&] { problems += (problems.empty() ? "" : "; ") + std::string(text); };
  if (!std::isfinite(first)) {
    std::snprintf(text, sizeof text, "loss of the first step is %g", static_cast<double>(first));
    problem();
  } else if (!(last < first)) {
    std::snprintf(text, sizeof text, "loss did not decrease: %.6g -> %.6g over %d steps on one batch",
                  static_cast<double>(first), static_cast<double>(last), steps);
    problem();
  }
  for (const auto* hashes : {&before, &after})
    for (std::size_t r = 1; r < hashes->size(); ++r)
      if ((*hashes)[r] != (*hashes)[0]) {
        std::snprintf(text, sizeof text,
                      "weights differ across ranks %s the extra steps: rank %zu hash 0x%016" PRIx64 ", rank 0 0x%016" PRIx64,
                      hashes == &before ? "before" : "after", r, (*hashes)[r], (*hashes)[0]);
        problem();
        break;
      }
  if (!problems.empty()) return {false, problems};
  const std::size_t ranks = after.size();
  std::snprintf(text, sizeof text, "loss %.4f -> %.4f over %d steps; weights identical on %zu rank%s (hash 0x%016" PRIx64 ")",
                static_cast<double>(first), static_cast<double>(last), steps, ranks, ranks == 1 ? "" : "s", after[0]);
  return {true, text};
}

}  // namespace rackqual::transformer
