#pragma once
// For backends only: the MPI communicator behind a Group of a real run.
#include <mpi.h>

#include "rackqual/api/group.hpp"

namespace rackqual {

// Throws SetupError when the group is not an MPI one (a simulated group of a unit test).
MPI_Comm native_comm(const Group& group);

}  // namespace rackqual
