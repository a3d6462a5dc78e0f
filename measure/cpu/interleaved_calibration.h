#pragma once
// The calibration `ppsim measure --compare` runs when no profile is given: every rank's core times
// the layers at once (calibrate_ranks_concurrently), in rounds the caller interleaves with the
// measured iterations, so that prediction and measurement see the machine in the same state. The
// transfer sweep and the numerics checks run once, at the start.
#include <memory>
#include <vector>

#include "calibrate/calibration.h"
#include "models/profile.h"

namespace ppsim::cpu {

class InterleavedCalibration {
 public:
  // Runs the transfer sweep, the numerics checks and the first round.
  InterleavedCalibration(const CalibrationOptions& options, int ranks);

  // One more round on every rank's core.
  void round();

  // Rank r's profile: each pass's medians over the rounds, with the shared transfer fit.
  std::vector<std::shared_ptr<const Profile>> profiles() const;

 private:
  CalibrationOptions options_;
  Profile shared_;                          // transfers and numerics
  std::vector<std::vector<Profile>> rounds_;  // rounds_[rank]
};

}  // namespace ppsim::cpu
