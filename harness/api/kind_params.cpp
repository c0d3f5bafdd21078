#include "rackqual/api/kind_params.hpp"

#include "rackqual/api/params.hpp"
#include "rackqual/base/error.hpp"

namespace rackqual {
namespace {

DType dtype_of(const Params& p, const std::string& name) {
  const std::string& text = p.text(name);
  const auto type = parse_dtype(text);
  if (!type) throw FieldError(name, "unknown element type '" + text + "'");
  return *type;
}

// A "false"/"true" choice; false when the point leaves it out.
bool flag(const Params& p, const std::string& name) { return p.has(name) && p.text(name) == "true"; }

}  // namespace

GemmParams GemmParams::from(const Params& p) {
  return {p.integer("m"), p.integer("n"), p.integer("k"), dtype_of(p, "dtype"), flag(p, "consensus")};
}

HbmParams HbmParams::from(const Params& p) {
  HbmParams h{p.text("op"), p.integer("bytes")};
  if (h.bytes % 16 != 0) throw FieldError("bytes", "must be a multiple of 16 (kernels move 16-byte vectors)");
  return h;
}

AllreduceParams AllreduceParams::from(const Params& p) {
  AllreduceParams a{p.list("sizes").front(), dtype_of(p, "dtype"), p.text("in_place") == "true"};
  if (a.bytes % traits(a.dtype).bytes != 0)
    throw FieldError("sizes", std::to_string(a.bytes) + " bytes is not a whole number of " + std::string(to_string(a.dtype)) + " elements");
  return a;
}

P2pParams P2pParams::from(const Params& p) { return {p.list("sizes").front()}; }

TransformerParams TransformerParams::from(const Params& p) {
  TransformerParams t{p.integer("hidden"), p.integer("heads"), p.integer("seq"), p.integer("micro_batch"),
                      p.integer("layers"), p.integer("vocab"), dtype_of(p, "dtype"),
                      p.has("grad_dtype") ? dtype_of(p, "grad_dtype") : DType::fp32, flag(p, "consensus")};
  if (t.hidden % t.heads != 0)
    throw FieldError("heads", std::to_string(t.heads) + " heads do not divide hidden " + std::to_string(t.hidden));
  return t;
}

}  // namespace rackqual
