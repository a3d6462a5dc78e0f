// Built with MPI but without the CUDA backend or NCCL: the GPU sweep between processes says so.
#include "calibrate/mpi/mpi_session.h"
#include "base/error.h"

namespace ppsim::mpi {

InterNodeSweep nccl_mpi_ping_pong(const World&, const SweepSettings&) {
  throw InputError("--device cuda under mpirun: this ppsim was built without CUDA or without NCCL, so GPU transfers "
                   "between processes cannot be measured");
}

}  // namespace ppsim::mpi
