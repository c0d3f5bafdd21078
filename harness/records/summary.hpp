#pragma once
// The console verdict table and the run's exit code, both computed from records.
#include <string>
#include <vector>

#include "rackqual/records/record.hpp"

namespace rackqual {

// One row per check and criterion: the worst record decides, and its place is named.
std::string summary_table(const std::vector<Record>& records);
// 0 all pass (warn and skip too), 1 some fail, 3 some error (an error outranks a fail).
int exit_code(const std::vector<Record>& records);
// The same from the worst verdict of a run's records.
int exit_code(Verdict worst);

}  // namespace rackqual
