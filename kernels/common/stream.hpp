#pragma once
// STREAM-style memory kernels: what each moves and what its outputs must be.
// Arrays a, b, c; scalar q. Inputs are random, so every output element has a known answer.
#include <stdexcept>
#include <string>

#include "kernels/common/hd.hpp"
#include "kernels/common/random.hpp"

namespace rackqual::stream {

enum class Op { read, write, copy, scale, add, triad };

inline constexpr double scalar = 0.4;       // q
inline constexpr double written = 1.25;     // the value `write` stores

inline Op parse_op(const std::string& name) {
  if (name == "read") return Op::read;
  if (name == "write") return Op::write;
  if (name == "copy") return Op::copy;
  if (name == "scale") return Op::scale;
  if (name == "add") return Op::add;
  if (name == "triad") return Op::triad;
  throw std::invalid_argument("unknown stream op: " + name);
}

// Arrays read plus arrays written in one pass.
inline double arrays_moved(Op op) {
  switch (op) {
    case Op::read:
    case Op::write: return 1;
    case Op::copy:
    case Op::scale: return 2;
    case Op::add:
    case Op::triad: return 3;
  }
  return 0;
}

// The answer for element i, given that element's inputs (read and write are checked apart).
//   copy: c = a    scale: b = q*c    add: c = a + b    triad: a = b + q*c
RACKQUAL_HD inline double expected(Op op, double a, double b, double c) {
  switch (op) {
    case Op::copy: return a;
    case Op::scale: return scalar * c;
    case Op::add: return a + b;
    case Op::triad: return b + scalar * c;
    case Op::write: return written;
    case Op::read: return a;
  }
  return 0;
}

// Initial value of element i of array 0 (a), 1 (b) or 2 (c): random in [0.5, 1.5), never zero.
RACKQUAL_HD inline double initial(int array, unsigned long long i) {
  return random::uniform(0x5eed0 + static_cast<unsigned>(array), i, 0.5, 1.5);
}

}  // namespace rackqual::stream
