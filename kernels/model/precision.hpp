#pragma once
// Which element type each of the training step's buffers has.
#include "kernels/model/view.hpp"

namespace rackqual::model {

struct Precision {
  // Master weights (what AdamW updates), optimizer state, parameter gradients, the residual
  // stream, layernorm statistics, attention scores, logits and the loss.
  DType master = DType::fp32;
  // Matrix-product operands: the activations they read and a copy of the weights (kept apart
  // from the master weights only when the types differ).
  DType compute = DType::fp32;
  // The gradient all-reduce: each bucket is converted to this type, summed, and converted back
  // before AdamW (no conversion when it is the master type).
  DType exchange = DType::fp32;
};

}  // namespace rackqual::model
