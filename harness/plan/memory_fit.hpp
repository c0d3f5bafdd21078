#pragma once
// A suite the device cannot hold is refused before anything allocates: each check's points need
// the memory their kind estimates (Kind::memory), on every rank, from the device's memory (a
// GPU's own, or the host's, shared by the ranks on it).
#include <string>

#include "rackqual/api/backend.hpp"
#include "rackqual/plan/prepared_suite.hpp"

namespace rackqual {

// Throws InputError for the first check with a point that does not fit, naming the parameter
// behind it: "file:line: checks[ID].params.FIELD: ID needs X GiB per GPU, the device has Y GiB"
// (on host memory: per rank, and for the `ranks_sharing` ranks of the host together). A device
// whose memory is unknown refuses nothing.
void check_memory(const PreparedSuite& suite, const DeviceInfo& device, int ranks_sharing);

}  // namespace rackqual
