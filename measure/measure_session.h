#pragma once
// `ppsim measure`, as a library call: the config's schedule run for real on the CPU or GPUs, its
// measured timeline with the simulator's metrics, and (compare) the prediction beside it from a
// calibration profile (the config's `profile:`, or one measured here on every rank's core between
// the measured iterations). The command line only parses flags and prints what this returns.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "measure/comparison.h"
#include "measure/measured_run.h"
#include "schedules/schedule.h"
#include "sim/config/config.h"
#include "sim/metrics.h"
#include "sim/model_costs.h"
#include "sim/report/run_info.h"
#include "sim/simulation.h"

namespace ppsim {

struct MeasureRequest {
  SimulationConfig config;
  MeasureOptions run;
  bool compare = false;
  int calibration_repeats = 10;                  // per round, when compare calibrates here
  std::function<void(const std::string&)> log;   // progress lines; may be empty
};

struct MeasureOutcome {
  SimulationConfig config;
  Schedule schedule;
  ScheduleSearch search;       // zb-auto: the order the search picked
  ModelCosts costs;            // the run's cost model (rank 0's when each rank was calibrated)
  MeasuredRun run;
  Metrics measured;
  RunInfo measured_info;
  // With compare:
  std::optional<SimulationResult> predicted;
  std::optional<Comparison> comparison;
  RunInfo predicted_info;
  std::vector<std::string> timings_by_rank;  // where each rank's predicted op times came from
};

// Throws InputError for a config or flag that cannot run, RunError when the run fails on the device
// or a rank waits past the deadline.
MeasureOutcome run_measure(const MeasureRequest& request);

}  // namespace ppsim
