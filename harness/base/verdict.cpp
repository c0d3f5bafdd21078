#include "rackqual/base/verdict.hpp"

#include <algorithm>

namespace rackqual {

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::pass: return "pass";
    case Verdict::skip: return "skip";
    case Verdict::warn: return "warn";
    case Verdict::fail: return "fail";
    case Verdict::error: return "error";
  }
  return "error";
}

Verdict worst(Verdict a, Verdict b) { return std::max(a, b); }

}  // namespace rackqual
