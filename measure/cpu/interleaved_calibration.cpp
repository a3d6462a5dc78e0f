#include "measure/cpu/interleaved_calibration.h"

#include "calibrate/cpu/cpu_calibrator.h"
#include "measure/cpu/rank_calibration.h"
#include "calibrate/profile_merge.h"

namespace ppsim::cpu {

InterleavedCalibration::InterleavedCalibration(const CalibrationOptions& options, int ranks)
    : options_(options), rounds_(ranks) {
  CalibrationOptions once = options;
  once.repeats = 3;  // the layer timings of this run are not used; the rounds provide them
  shared_ = calibrate_cpu(once);
  round();
}

void InterleavedCalibration::round() {
  std::vector<Profile> now = calibrate_ranks_concurrently(options_, static_cast<int>(rounds_.size()));
  for (std::size_t r = 0; r < rounds_.size(); ++r) rounds_[r].push_back(std::move(now[r]));
}

std::vector<std::shared_ptr<const Profile>> InterleavedCalibration::profiles() const {
  std::vector<std::shared_ptr<const Profile>> out;
  for (std::size_t r = 0; r < rounds_.size(); ++r) {
    auto merged = std::make_shared<Profile>(merge_profiles(rounds_[r]));
    merged->transfer = shared_.transfer;
    merged->kernels = shared_.kernels;
    merged->source = "(calibrated by this run: rank " + std::to_string(r) + "'s core, " +
                     std::to_string(rounds_[r].size()) + " rounds)";
    out.push_back(std::move(merged));
  }
  return out;
}

}  // namespace ppsim::cpu
