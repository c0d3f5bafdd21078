#include "rackqual/fault.hpp"

#include "rackqual/error.hpp"

namespace rackqual {

Fault parse_fault(const std::string& text) {
  const auto first = text.find(':');
  const auto last = text.rfind(':');
  if (first == std::string::npos || first == last)
    throw FieldError("--fault", "expected CHECK:RANK:MODE, got '" + text + "'");
  Fault f;
  f.check = text.substr(0, first);
  if (f.check.empty()) throw FieldError("--fault", "the check id is empty in '" + text + "'");
  const std::string rank = text.substr(first + 1, last - first - 1);
  const std::string mode = text.substr(last + 1);
  try {
    std::size_t used = 0;
    f.rank = std::stoi(rank, &used);
    if (used != rank.size() || f.rank < 0) throw std::invalid_argument(rank);
  } catch (const std::exception&) {
    throw FieldError("--fault", "rank must be a whole number >= 0, got '" + rank + "'");
  }
  if (mode == "wrong") f.mode = FaultMode::wrong;
  else if (mode == "error") f.mode = FaultMode::error;
  else if (mode == "hang") f.mode = FaultMode::hang;
  else throw FieldError("--fault", "mode must be wrong, error or hang, got '" + mode + "'");
  return f;
}

std::optional<FaultMode> fault_for(const std::vector<Fault>& faults, const std::string& check, int rank) {
  for (const auto& f : faults)
    if (f.check == check && f.rank == rank) return f.mode;
  return std::nullopt;
}

}  // namespace rackqual
