#pragma once
// Calibration for a measured run on this machine: every rank's core times the layer passes at the
// same moment, pinned where the rank will run. Each rank gets its own profile, because cores of
// shared machines differ (and drift), and all of them compute at once, as in a pipeline's steady
// state, so the passes are timed under the contention they will meet.
#include <vector>

#include "calibrate/calibration.h"
#include "models/profile.h"

namespace ppsim::cpu {

// One profile per rank (rank r timed on core r when there are enough cores). No transfer sweep
// and no numerics checks: callers do those once.
std::vector<Profile> calibrate_ranks_concurrently(const CalibrationOptions& options, int ranks);

}  // namespace ppsim::cpu
