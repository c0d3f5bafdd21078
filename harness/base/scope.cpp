#include "rackqual/base/scope.hpp"

namespace rackqual {

std::string_view to_string(Scope s) {
  switch (s) {
    case Scope::gpu: return "gpu";
    case Scope::node: return "node";
    case Scope::nvlink_domain: return "nvlink_domain";
    case Scope::rack: return "rack";
    case Scope::cluster: return "cluster";
  }
  return "?";
}

std::optional<Scope> parse_scope(std::string_view text) {
  for (Scope s : {Scope::gpu, Scope::node, Scope::nvlink_domain, Scope::rack, Scope::cluster})
    if (to_string(s) == text) return s;
  return std::nullopt;
}

}  // namespace rackqual
