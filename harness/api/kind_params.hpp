#pragma once
// Each kind's parameters as a typed struct, decoded and validated once per measurement point
// when the suite loads (Kind::decode); backends read them with Params::typed<T>().
#include <cstdint>
#include <string>

#include "rackqual/base/dtype.hpp"

namespace rackqual {

class Params;

struct GemmParams {
  std::int64_t m = 0, n = 0, k = 0;
  DType dtype = DType::fp32;
  bool consensus = false;   // inputs from one seed on every rank; the output's digest voted on
  static GemmParams from(const Params& point);   // throws FieldError
};

struct HbmParams {
  std::string op;            // read, write, copy, scale, add, triad
  std::int64_t bytes = 0;    // per array
  static HbmParams from(const Params& point);
};

struct AllreduceParams {
  std::int64_t bytes = 0;    // this point's message size per rank
  DType dtype = DType::fp32;
  bool in_place = false;
  std::int64_t count() const { return bytes / traits(dtype).bytes; }
  static AllreduceParams from(const Params& point);
};

struct P2pParams {
  std::int64_t bytes = 0;    // this point's message size, sent to each neighbour in turn
  static P2pParams from(const Params& point);
};

struct TransformerParams {
  std::int64_t hidden = 0, heads = 0, seq = 0, micro_batch = 0, layers = 0, vocab = 0;
  DType dtype = DType::fp32;        // compute type
  DType grad_dtype = DType::fp32;   // type of the gradient all-reduce
  bool consensus = false;           // every rank trains on one micro-batch; its local gradients voted on
  static TransformerParams from(const Params& point);
};

}  // namespace rackqual
