#pragma once
// Which calibration backends this build has, and the dispatch to them; compiles with or without
// CUDA so the subcommand needs no #ifdefs.
#include <string>

#include "calibrate/calibration.h"
#include "models/profile.h"

namespace ppsim {

// True when the CUDA backend was compiled in (nvcc was found at configure time).
bool cuda_backend_built();

// Number of GPUs the CUDA runtime sees; 0 with the reason in `why` (no CUDA backend, no driver,
// no device). Never throws.
int visible_gpu_count(std::string& why);

// Runs the CUDA calibration; throws InputError when the backend is not built or fails.
Profile calibrate_cuda_backend(const CalibrationOptions& options);

}  // namespace ppsim
