#pragma once
// `ppsim calibrate` under `mpirun -n N` (N processes, typically one per node). Rank 0 times the
// layers and writes the profile as in a single-process run; in addition, before that, rank 0 and
// rank 1 measure the transfers between them:
//   --device cpu : an MPI_Send/MPI_Recv ping-pong (half the round trip), method "mpi";
//   --device cuda: NCCL send/recv between the processes' GPUs (--gpus[local rank]), the communicator
//                  bootstrapped over MPI (the ncclUniqueId travels from rank 0 to rank 1), method
//                  "nccl-mpi". NOT YET RUN: the development machine had neither GPUs nor nodes.
// The fit goes to the profile's optional `inter_node` section (docs/profile.md); ranks 2.. only
// wait. MPI is optional at build time (CMake's find_package(MPI)); a build without it refuses to run
// under a launcher with more than one process instead of calibrating N times.
//
// Every MPI call is checked (a failure names the call and the rank) and every wait polls against a
// deadline, so a peer that never answers ends the job (MPI_Abort) instead of hanging it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "models/alpha_beta_fit.h"
#include "calibrate/calibration.h"
#include "models/profile.h"

namespace ppsim::mpi {

// True when this build has MPI (find_package(MPI) succeeded at configure time).
bool built_with_mpi();

// The number of processes a launcher announced through the environment before MPI_Init:
// OMPI_COMM_WORLD_SIZE (Open MPI's mpirun) or PMI_SIZE (MPICH's Hydra, Slurm's PMI). 1 when neither
// is set or holds a positive integer. `getenv` defaults to std::getenv (tests pass their own).
using GetEnv = std::function<const char*(const char*)>;
int launcher_world_size(const GetEnv& getenv = {});

// Why this process cannot go on, or "" when it can: started by a launcher with more than one process
// by a build without MPI (every process would calibrate on its own and race on the output file).
std::string launch_problem(int launcher_size, bool with_mpi);

struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;   // among the processes on this host (MPI_Comm_split_type SHARED)
  std::string host;     // MPI_Get_processor_name (or gethostname when MPI is not running)
  bool active = false;  // MPI_Init was called
};

// Initialises MPI when launcher_world_size() > 1 (and only then: a plain `ppsim calibrate` never
// touches MPI); otherwise a world of one process. Throws InputError with launch_problem()'s text
// when the build has no MPI. The destructor finalises MPI.
class Session {
 public:
  Session();
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const World& world() const { return world_; }
  // All ranks: rank 0 calls it when the profile is written, the others when their part is done (they
  // then wait, sleeping, for rank 0). No deadline: rank 0's layer timing may take minutes.
  void finish();
  // Prints "ppsim calibrate: rank R (host): MESSAGE" to stderr and ends every process of the job
  // (MPI_Abort) with exit code 1. Without MPI: prints and exits.
  [[noreturn]] void abort(const std::string& message);

 private:
  World world_;
  bool finished_ = false;
};

// What the two ends of the inter-node sweep agree on (rank 0's values win; rank 1 checks them).
struct SweepSettings {
  std::int64_t min_bytes = 4 << 10;
  std::int64_t max_bytes = 64 << 20;
  int repeats = 10;
  int warmup = 2;
  int device_kind = 0;     // 0 cpu, 1 cuda: both ends must use the same
  int gpu = 0;             // cuda: this process's GPU: --gpus[local_rank % count] (one process per
                           // node: the first entry; two on one node with --gpus 0,1: GPUs 0 and 1)
  double timeout_s = 60;   // per wait
};

struct InterNodeSweep {
  std::vector<TransferSample> samples;  // rank 0 only: median half round trip per size
  std::string between;                  // rank 0 only, e.g. "nodeA (rank 0) <-> nodeB (rank 1), ..."
};

// MPI_Send/MPI_Recv ping-pong between rank 0 and rank 1, sizes min, 4*min, ... max. Other ranks
// return at once. Throws std::runtime_error naming the MPI call and the rank on failure or timeout.
InterNodeSweep mpi_ping_pong(const World& world, const SweepSettings& settings);

// NCCL send/recv ping-pong between rank 0's and rank 1's GPU, the communicator bootstrapped over
// MPI, non-blocking with deadlines (aborted on timeout). NOT YET RUN. Throws when the build has no
// CUDA or NCCL.
InterNodeSweep nccl_mpi_ping_pong(const World& world, const SweepSettings& settings);

// The whole inter-node step for `device` ("cpu" or "cuda"): nothing (nullopt) in a world of one
// process; on rank 0 the fitted TransferProfile (or an unmeasured one with --no-transfers); nullopt
// on the other ranks, which only take part.
std::optional<TransferProfile> measure_inter_node(const World& world, const std::string& device,
                                                  const CalibrationOptions& options);

}  // namespace ppsim::mpi
