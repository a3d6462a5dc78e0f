// The parts of the multi-process calibration that need no MPI: the launcher's environment, the
// refusal text of a build without MPI, and the inter-node step around the sweeps.
#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "calibrate/mpi/mpi_session.h"

namespace ppsim::mpi {

int launcher_world_size(const GetEnv& getenv) {
  const GetEnv get = getenv ? getenv : GetEnv([](const char* name) { return std::getenv(name); });
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* text = get(var);
    if (!text || !*text) continue;
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(text, &end, 10);
    if (errno == 0 && end && *end == '\0' && n >= 1 && n <= 1 << 24) return static_cast<int>(n);
  }
  return 1;
}

std::string launch_problem(int launcher_size, bool with_mpi) {
  if (launcher_size <= 1 || with_mpi) return "";
  return "started by an MPI launcher with " + std::to_string(launcher_size) +
         " processes (OMPI_COMM_WORLD_SIZE / PMI_SIZE), but this ppsim was built without MPI: every process would "
         "calibrate on its own and they would race on the output file. Install Open MPI (libopenmpi-dev, "
         "openmpi-bin; scripts/setup.sh does) and rebuild, or run ppsim calibrate without mpirun";
}

std::optional<TransferProfile> measure_inter_node(const World& world, const std::string& device,
                                                  const CalibrationOptions& options) {
  if (world.size <= 1) return std::nullopt;
  if (!options.measure_transfers) {
    if (world.rank != 0) return std::nullopt;
    TransferProfile t;
    t.reason = "transfers not measured (disabled)";
    return t;
  }
  const bool cuda = device == "cuda";
  SweepSettings s;
  s.min_bytes = options.min_transfer_bytes;
  s.max_bytes = options.max_transfer_bytes;
  s.device_kind = cuda ? 1 : 0;
  if (cuda) {  // as the single-process NCCL sweep: fewer repeats of larger transfers, one warm-up
    s.repeats = std::max(3, options.repeats / 2);
    s.warmup = 1;
    const int n = static_cast<int>(options.gpus.size());
    s.gpu = n == 0 ? world.local_rank : options.gpus[static_cast<std::size_t>(world.local_rank % n)];
  } else {
    s.repeats = options.repeats;
    s.warmup = options.warmup;
  }
  const InterNodeSweep r = cuda ? nccl_mpi_ping_pong(world, s) : mpi_ping_pong(world, s);
  if (world.rank != 0) return std::nullopt;
  TransferProfile t;
  fit_transfer(t, r.samples, cuda ? "nccl-mpi" : "mpi", r.between);
  return t;
}

}  // namespace ppsim::mpi
