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
#include "sim/simulator.h"
#include "sim/timeline.h"

namespace ppsim {

// What a schedule search (zb-auto) did: a line for the report, and its wall time (kept out of the
// deterministic report; the command prints it on stderr).
struct ScheduleSearch {
  std::string note;
  double seconds = 0;
};

struct SimulationResult {
  Schedule schedule;
  OpCosts costs;
  Dag dag;
  Timeline timeline;
  Metrics metrics;
  std::string times_source;  // "explicit times", or the cost model's sources
  ScheduleSearch search;      // zb-auto: the order the search picked
  // Model-driven runs only:
  std::optional<ModelCosts> model_costs;
  std::optional<ModelMetrics> model_metrics;
};

// Builds the schedule the config names: a generator, or the custom CSV (validated either way).
// zb-auto is a search for the given op times (sim/zb_auto.h): `costs` must then be the costs of
// its one-stage-per-rank layout (from explicit times or the cost model over layout_schedule()),
// and `how`, when given, receives which order won and how long the search took.
Schedule make_schedule(const SimulationConfig& config, const OpCosts* costs = nullptr, ScheduleSearch* how = nullptr);

// A schedule with the config's placement of stages on ranks, for building op costs before the
// order itself is known (zb-auto); the config's own schedule for every other kind.
Schedule layout_schedule(const SimulationConfig& config);

// Per-stage op costs for a schedule from the config's explicit per-rank times.
OpCosts costs_from_times(const ExplicitTimes& times, const Schedule& schedule);

SimulationResult run_simulation(const SimulationConfig& config);

// The model-driven half of run_simulation(config), from its layout schedule (layout_schedule) and
// the cost model built for it (build_model_costs): what run_simulation(config) does after those
// two, so a caller that reuses cost models (ppsim plan) gets the very same run.
SimulationResult run_model_simulation(const SimulationConfig& config, const Schedule& layout, ModelCosts costs);

// The same run in `simulator`'s reused memory (ppsim plan simulates thousands of candidates): the
// result's metrics are the same; its `dag` and `timeline` stay empty (they are the simulator's).
SimulationResult run_model_simulation(const SimulationConfig& config, const Schedule& layout, ModelCosts costs,
                                      Simulator& simulator);

// What the reports say about a run of this config and schedule, whose op times came from
// `times_source`.
RunInfo describe_run(const SimulationConfig& config, const Schedule& schedule, const std::string& times_source);

// The same pipeline from an already-built schedule and costs (tests, benchmarks, measure).
// With `step`, the DAG ends with the training step's ops (data-parallel collectives, optimizer).
SimulationResult run_simulation(Schedule schedule, OpCosts costs, const MetricsOptions& options = {},
                                const TrainingStepCosts& step = {});

}  // namespace ppsim
