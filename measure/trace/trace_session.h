#pragma once
// `ppsim trace`, as a library call: read one trace per rank, align their clocks, analyse each GPU's
// step, find the pipeline ops the annotations name, and (where they do) build the measured
// timeline, reproduce it from its own op times, and calibrate a profile. The command line only
// parses flags and prints what this returns.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "measure/comparison.h"
#include "measure/trace/clock_alignment.h"
#include "measure/trace/gpu_timeline.h"
#include "measure/trace/traced_ops.h"
#include "measure/trace/traced_timeline.h"
#include "models/profile.h"
#include "sim/config/config.h"
#include "sim/metrics.h"
#include "sim/report/run_info.h"
#include "sim/simulation.h"

namespace ppsim::trace {

struct TraceRequest {
  std::vector<std::string> inputs;          // trace files and directories of them
  std::optional<SimulationConfig> config;   // --schedule-yaml: the schedule that ran (P, M, V, kind)
  std::string config_path;
  std::string patterns_path;                // --patterns: the user's name patterns (tried first)
  std::optional<std::int64_t> step;         // --step N: ProfilerStep#N (default: the last every rank has)
  bool want_profile = false;                // --profile-out (needs a model-driven config)
  std::function<void(const std::string&)> log;  // progress lines; may be empty
};

// One traced rank: where it came from and how its clock was aligned.
struct TracedRank {
  std::string path;
  int global_rank = -1, world_size = 0;
  std::string rank_source;
  RankClock clock;
  std::uint64_t bytes = 0, events = 0;
  std::size_t gpu_events = 0, launches = 0, ranges = 0;
};

struct TraceOutcome {
  std::vector<TracedRank> ranks;  // pipeline rank order
  std::int64_t step = -1;
  std::string device_name;
  GpuSummary gpu;
  std::vector<RankOps> ops;
  std::vector<std::string> notes;
  // Where the annotations name pipeline ops:
  std::optional<TracedRun> run;
  Metrics metrics;
  RunInfo info;
  std::optional<StageTimesProfile> stage_times;
  // The traced schedule simulated with the traced op times, against the trace:
  std::optional<SimulationResult> reproduced;
  std::optional<Comparison> reproduction;
  RunInfo reproduced_info;
  std::optional<Profile> profile;  // with want_profile
};

// Throws InputError for unreadable, malformed or inconsistent traces and flags.
TraceOutcome run_trace(const TraceRequest& request);

}  // namespace ppsim::trace
