#pragma once
// One simulation, end to end: config -> op costs -> schedule -> DAG -> engine -> metrics.
#include <optional>
#include <string>
#include <vector>

#include "schedules/schedule.h"
#include "sim/config/config.h"
#include "sim/dag.h"
#include "sim/metrics.h"
#include "sim/model_costs.h"
#include "sim/model_metrics.h"
#include "sim/op_costs.h"
#include "sim/report/run_info.h"
#include "sim/timeline.h"

namespace ppsim {

struct SimulationResult {
  Schedule schedule;
  OpCosts costs;
  Dag dag;
  Timeline timeline;
  Metrics metrics;
  std::string times_source;  // "explicit times", or the cost model's sources
  // Model-driven runs only:
  std::optional<ModelCosts> model_costs;
  std::optional<ModelMetrics> model_metrics;
};

// Builds the schedule the config names: a generator, or the custom CSV (validated either way).
Schedule make_schedule(const SimulationConfig& config);

// Per-stage op costs for a schedule from the config's explicit per-rank times.
OpCosts costs_from_times(const ExplicitTimes& times, const Schedule& schedule);

SimulationResult run_simulation(const SimulationConfig& config);

// What the reports say about a run of this config and schedule, whose op times came from
// `times_source`.
RunInfo describe_run(const SimulationConfig& config, const Schedule& schedule, const std::string& times_source);

// The same pipeline from an already-built schedule and costs (tests, benchmarks, measure).
SimulationResult run_simulation(Schedule schedule, OpCosts costs, const MetricsOptions& options = {});

}  // namespace ppsim
