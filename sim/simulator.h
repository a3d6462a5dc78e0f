#pragma once
// A reusable in-process simulator: what `ppsim plan` and replays call thousands of times. It keeps
// the DAG, the timeline, the metrics and every working buffer between runs, so a run of a pipeline
// no larger than an earlier one allocates nothing (issue 13). The results are those of
// run_simulation (sim/simulation.h), which takes the same steps with fresh memory.
#include <span>

#include "schedules/schedule.h"
#include "sim/dag.h"
#include "sim/engine.h"
#include "sim/metrics.h"
#include "sim/op_costs.h"
#include "sim/timeline.h"

namespace ppsim {

class Simulator {
 public:
  // Builds the schedule's DAG, replays it and measures the timeline. The schedule must have passed
  // validate_schedule. The references stay valid until the next run.
  const Metrics& run(const Schedule& schedule, const OpCosts& costs, const MetricsOptions& options = {},
                     const TrainingStepCosts& step = {});

  // Replays the last DAG again with other op durations (one per op), and measures it. Throws
  // std::logic_error when no run has built a DAG.
  const Metrics& rerun(std::span<const TimeNs> durations, const MetricsOptions& options = {});

  const Dag& dag() const { return dag_; }
  const Timeline& timeline() const { return timeline_; }
  const Metrics& metrics() const { return metrics_; }

 private:
  Dag dag_;
  DagBuildBuffers build_buffers_;
  Timeline timeline_;
  ReplayBuffers replay_buffers_;
  Metrics metrics_;
  MetricsBuffers metrics_buffers_;
  bool built_ = false;  // dag_ is whole (the last run's build succeeded)
};

}  // namespace ppsim
