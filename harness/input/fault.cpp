#include "rackqual/input/fault.hpp"

#include "rackqual/base/error.hpp"
#include "rackqual/base/units.hpp"

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
  else if (mode == "corrupt") f.mode = FaultMode::corrupt;
  else if (mode == "error") f.mode = FaultMode::error;
  else if (mode == "hang") f.mode = FaultMode::hang;
  else if (mode == "sample_error") f.mode = FaultMode::sample_error;
  else if (mode == "late" || mode.rfind("late=", 0) == 0) {
    f.mode = FaultMode::late;
    if (mode != "late") {
      const auto seconds = parse_seconds(mode.substr(5));
      if (!seconds || *seconds <= 0 || *seconds > 60)
        throw FieldError("--fault", "late=DURATION takes a duration from 1us to 60s such as 2ms, got '" + mode.substr(5) + "'");
      f.late_s = *seconds;
    }
  } else
    throw FieldError("--fault", "mode must be wrong, corrupt, error, hang, late[=DURATION] or sample_error, got '" + mode + "'");
  return f;
}

std::optional<FaultMode> fault_for(const std::vector<Fault>& faults, const std::string& check, int rank) {
  const Fault* f = find_fault(faults, check, rank);
  if (f) return f->mode;
  return std::nullopt;
}

const Fault* find_fault(const std::vector<Fault>& faults, const std::string& check, int rank) {
  for (const auto& f : faults)
    if (f.check == check && f.rank == rank) return &f;
  return nullptr;
}

}  // namespace rackqual
