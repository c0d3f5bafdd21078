#pragma once
// Fault injection for tests and chaos drills: --fault CHECK:RANK:MODE.
#include <optional>
#include <string>
#include <vector>

namespace rackqual {

enum class FaultMode {
  wrong,   // corrupt one output element after the untimed pass: the kind's own check must catch it
  corrupt, // change one output element by its least significant bit after the untimed pass: within
           // the kind's own check, so only the consensus vote can catch it
  error,   // the operation throws while it is prepared
  hang,    // the rank stops before the measurement and never arrives: the deadline must catch it
  late,    // the rank reaches every timed sample of a collective late (late=DURATION, default 2ms):
           // arrival skew, not a slow transfer; the harness's common start must absorb it
  sample_error,  // the rank's first timed sample throws after its launches, before the end mark (on
                 // a GPU: while the stream is held): the group must stop together and release it
};

struct Fault {
  std::string check;
  int rank = 0;
  FaultMode mode = FaultMode::wrong;
  double late_s = 0.002;   // for FaultMode::late
};

// Parses "CHECK:RANK:MODE" (MODE: wrong, corrupt, error, hang, late, late=DURATION or
// sample_error); throws FieldError.
Fault parse_fault(const std::string& text);
// The fault for this check on this rank, if any.
std::optional<FaultMode> fault_for(const std::vector<Fault>& faults, const std::string& check, int rank);
// The whole fault for this check on this rank (with its duration), or null.
const Fault* find_fault(const std::vector<Fault>& faults, const std::string& check, int rank);

}  // namespace rackqual
