// Placing the world's ranks: from the run's topology options, then the NVLink domains the
// backends report. Every step is taken by every rank together and ends the same on each.
#include "rackqual/world/world.hpp"

#include <stdexcept>

#include "rackqual/base/error.hpp"
#include "rackqual/input/inventory.hpp"

namespace rackqual {
namespace {

// Rank 0's reading of a file, as one text every rank can take: "+" and the file's text, or "-"
// and the InputError that reading it raised (line, field, message).
std::string read_on_rank_0(const std::string& path) {
  try {
    std::string reading = "+";
    reading += read_inventory_text(path);
    return reading;
  } catch (const InputError& e) {
    return "-" + std::to_string(e.line()) + "\n" + e.field() + "\n" + e.message();
  }
}

std::string take_reading(const std::string& path, const std::string& reading) {
  if (reading.empty() || reading[0] != '-') return reading.substr(1);
  const std::size_t a = reading.find('\n'), b = reading.find('\n', a + 1);
  throw InputError(path, std::stoi(reading.substr(1, a - 1)), reading.substr(a + 1, b - a - 1), reading.substr(b + 1));
}

}  // namespace

void World::place(const TopologyOptions& options) {
  // Without a simulation or an inventory, the ranks stay where their own reports placed them.
  if (options.simulation) {
    set_placements(place_simulated(*options.simulation, size()));
  } else if (!options.inventory.empty()) {
    const std::string reading = broadcast(rank() == 0 ? read_on_rank_0(options.inventory) : "");
    const Inventory inventory = parse_inventory(options.inventory, take_reading(options.inventory, reading));
    set_placements(place_by_inventory(inventory, identities(), options.missing_gpus_allowed));
  }
  topology_ = options;
}

void World::take_nvlink_domains(const std::optional<std::string>& mine) {
  // One line per rank: a domain name has no line break.
  std::string line = mine.value_or("");
  for (char& c : line)
    if (c == '\n') c = ' ';
  std::string table;
  for (const auto& text : gather(line + "\n")) table += text;
  table = broadcast(table);
  std::vector<std::string> reported;
  for (std::size_t pos = 0, end; (end = table.find('\n', pos)) != std::string::npos; pos = end + 1)
    reported.push_back(table.substr(pos, end - pos));
  std::vector<Placement> placed = placements();
  add_nvlink_domains(placed, reported);
  set_placements(std::move(placed));
}

void World::abandon(const std::vector<int>&) const { throw std::logic_error("this world cannot go on without a rank"); }

void World::exclude(const std::vector<int>&) { throw std::logic_error("this world cannot go on without a rank"); }

const std::vector<int>& World::excluded() const {
  static const std::vector<int> none;
  return none;
}

}  // namespace rackqual
