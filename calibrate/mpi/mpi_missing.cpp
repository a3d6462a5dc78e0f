// Built when CMake found no MPI: a run under a launcher with more than one process stops with a
// clear message instead of calibrating once per process.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "calibrate/mpi/mpi_session.h"
#include "base/error.h"

namespace ppsim::mpi {

bool built_with_mpi() { return false; }

Session::Session() {
  const std::string problem = launch_problem(launcher_world_size(), false);
  if (!problem.empty()) throw InputError(problem);
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) world_.host = host;
}

Session::~Session() = default;

void Session::finish() { finished_ = true; }

void Session::abort(const std::string& message) {
  std::fprintf(stderr, "ppsim calibrate: rank 0 (%s): %s\n", world_.host.c_str(), message.c_str());
  std::fflush(stderr);
  std::exit(1);
}

InterNodeSweep mpi_ping_pong(const World&, const SweepSettings&) {
  throw InputError("inter-node transfers: this ppsim was built without MPI");
}

InterNodeSweep nccl_mpi_ping_pong(const World&, const SweepSettings&) {
  throw InputError("inter-node transfers: this ppsim was built without MPI");
}

}  // namespace ppsim::mpi
