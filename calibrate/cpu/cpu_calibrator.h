#pragma once
// The CPU backend of `ppsim calibrate`: times the Eigen layers (calibrate/cpu/layers.h) pass by
// pass and the shared-memory transfers between two worker threads, and returns a Profile.
#include <cstdint>
#include <string>
#include <vector>

#include "models/alpha_beta_fit.h"
#include "calibrate/calibration.h"
#include "models/profile.h"

namespace ppsim {

// Runs the whole CPU calibration. Deterministic inputs (fixed seeds); only the times vary.
Profile calibrate_cpu(const CalibrationOptions& options);

// Half the round-trip time of a ping-pong between two threads, each copying `bytes` into the
// other's buffer and raising a flag, for sizes min, 4*min, ... up to max; one median per size.
std::vector<TransferSample> measure_thread_transfers(std::int64_t min_bytes, std::int64_t max_bytes, int repeats,
                                                     int warmup);

// "model name" from /proc/cpuinfo, or "unknown CPU".
std::string cpu_model_name();

// Maximum relative error of each pass of each layer type, float32 Eigen against float64, on a
// small model with the same norm, activation and attention grouping as `model`. Forward is
// compared with the plain-loop reference (calibrate/reference.h), B and W with the float64 layers.
struct NumericsResult {
  std::string layer, pass;
  double max_relative_error = 0;
};
std::vector<NumericsResult> check_cpu_numerics(const ModelSpec& model);

}  // namespace ppsim
