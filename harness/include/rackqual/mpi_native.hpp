#pragma once
// For backends only: the MPI communicator behind a Group.
#include <mpi.h>

#include "rackqual/group.hpp"

namespace rackqual {

MPI_Comm native_comm(const Group& group);

}  // namespace rackqual
