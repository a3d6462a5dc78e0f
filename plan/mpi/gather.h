#pragma once
// `mpirun -n K ppsim plan`: the one collective the split search needs. A library of its own
// (ppsim_plan_mpi) so that MPI's flags and library reach only the ppsim executable; a build without
// MPI gets a version for a world of one process.
#include <string>
#include <vector>

#include "calibrate/mpi/mpi_session.h"

namespace ppsim::mpi {

// Every rank's bytes, in rank order, on rank 0; an empty list on the others. Throws
// std::runtime_error naming the MPI call and the rank when one fails.
std::vector<std::string> gather_to_root(const World& world, const std::string& mine);

}  // namespace ppsim::mpi
