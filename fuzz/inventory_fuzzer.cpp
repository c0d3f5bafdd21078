// Inventories: parsed from the input, then ranks placed on the hosts it lists (a few per host,
// as a launcher would start them) and on one host it does not list.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "oracle.hpp"
#include "rackqual/input/inventory.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  rackqual::fuzz::expect_clean(text, [&] {
    const rackqual::Inventory inventory = rackqual::parse_inventory("inventory.yaml", text);
    std::vector<rackqual::HostAndRack> identities;
    for (const auto& rack : inventory.racks)
      for (const auto& host : rack.hosts)
        for (int gpu = 0; gpu < std::min(host.gpus, 4) && identities.size() < 256; ++gpu) identities.push_back({host.name, ""});
    const auto placed = rackqual::place_by_inventory(inventory, identities, true);
    if (placed.size() != identities.size()) rackqual::fuzz::finding("a rank left unplaced");
    identities.push_back({"host-not-listed-anywhere", ""});
    rackqual::place_by_inventory(inventory, identities, true);
  });
  return 0;
}
