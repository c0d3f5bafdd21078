#include "rackqual/world.hpp"

#include <stdexcept>

namespace rackqual {

void World::abandon(const std::vector<int>&) const { throw std::logic_error("this world cannot go on without a rank"); }

void World::exclude(const std::vector<int>&) { throw std::logic_error("this world cannot go on without a rank"); }

const std::vector<int>& World::excluded() const {
  static const std::vector<int> none;
  return none;
}

}  // namespace rackqual
