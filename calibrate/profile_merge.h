#pragma once
// Several calibrations of the same configuration taken at different times, merged into one: each
// pass's median, p10 and p90 become the medians over the runs, its mean the mean of all runs. On
// machines whose speed drifts (shared VMs, thermal limits) this spreads the calibration over the
// same period as the run it predicts (`ppsim measure --compare` interleaves calibration rounds with measured iterations).
#include <vector>

#include "models/profile.h"

namespace ppsim {

// The first profile supplies everything but the pass timings (device, configuration, transfer fit).
Profile merge_profiles(const std::vector<Profile>& profiles);

}  // namespace ppsim
