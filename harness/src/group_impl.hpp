#pragma once
// What a Group holds: its MPI communicator and where its ranks sit in the world.
#include <mpi.h>

#include <string>
#include <vector>

#include "rackqual/group.hpp"

namespace rackqual {

struct Group::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
  std::vector<int> world_ranks;
  std::string name;
};

// Every rank's text on rank 0 of `comm` (empty elsewhere).
std::vector<std::string> gather_text(MPI_Comm comm, const std::string& text);

}  // namespace rackqual
