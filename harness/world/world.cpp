// Placing the world's ranks: from the run's topology options, then the NVLink domains the
// backends report. Every step is taken by every rank together and ends the same on each.
#include "rackqual/world/world.hpp"

#include <stdexcept>

#include "rackqual/api/exchange.hpp"
#include "rackqual/base/error.hpp"
#include "rackqual/input/inventory.hpp"

namespace rackqual {
namespace {

// Rank 0's reading of a file, for every rank to take: its text, or the InputError that reading
// it raised.
struct Reading {
  bool read = false;
  std::string text;
  int line = 0;
  std::string field;
  std::string message;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Reading, read, text, line, field, message)

Reading read_on_rank_0(const std::string& path) {
  try {
    return {true, read_inventory_text(path), 0, "", ""};
  } catch (const InputError& e) {
    return {false, "", e.line(), e.field(), e.message()};
  }
}

std::string take_reading(const std::string& path, const Reading& reading) {
  if (!reading.read) throw InputError(path, reading.line, reading.field, reading.message);
  return reading.text;
}

}  // namespace

void World::place(const TopologyOptions& options) {
  // Without a simulation or an inventory, the ranks stay where their own reports placed them.
  if (options.simulation) {
    set_placements(place_simulated(*options.simulation, size()));
  } else if (!options.inventory.empty()) {
    const Reading reading = broadcast_value(all(), rank() == 0 ? read_on_rank_0(options.inventory) : Reading{});
    const Inventory inventory = parse_inventory(options.inventory, take_reading(options.inventory, reading));
    set_placements(place_by_inventory(inventory, identities(), options.missing_gpus_allowed));
  }
  topology_ = options;
}

void World::take_nvlink_domains(const std::optional<std::string>& mine) {
  // Every rank's domain (empty: none), in rank order, on every rank.
  const std::vector<std::string> reported = all_gather_values(all(), mine.value_or(""));
  std::vector<Placement> placed = placements();
  add_nvlink_domains(placed, reported);
  set_placements(std::move(placed));
}

void World::abandon(const std::vector<int>&) const { throw std::logic_error("this world cannot go on without a rank"); }

void World::exclude(const std::vector<int>&, const std::function<void(const Group&)>&) { throw std::logic_error("this world cannot go on without a rank"); }

const std::vector<int>& World::excluded() const {
  static const std::vector<int> none;
  return none;
}

nlohmann::json World::topology() const { return describe_topology(placements(), topology_); }

}  // namespace rackqual
