#pragma once
// `ppsim measure --device cpu`: executes a schedule for real. One worker thread per rank (pinned to
// its own core where the machine has enough) runs its ops in order on the rank's CpuStages. What an
// op waits for and what it passes on is read off the DAG (sim/dataflow.h): a tensor from another
// rank arrives in the rank's mailbox, one from a stage on the same rank is handed over directly.
// Every op's start and end go into a Timeline over the simulator's own op table, so the measured
// run is reported and compared by the same metric code.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "measure/cpu/cpu_stage.h"
#include "measure/measured_run.h"
#include "schedules/schedule.h"
#include "sim/dag.h"
#include "sim/dataflow.h"
#include "sim/timeline.h"

namespace ppsim::cpu {

class CpuPipeline {
 public:
  // `dag` must have been built from `schedule`; the stages follow `partition` of `spec`.
  CpuPipeline(const Schedule& schedule, const Dag& dag, const ModelSpec& spec, const Partition& partition,
              int micro_batch_size, int sequence_length, std::uint64_t seed);

  // Runs warm-up and timed iterations; weight gradients are zeroed at the start of each.
  // `before_iteration(i)`, when given, runs before timed iteration i (outside the timing). A rank
  // that waits longer than options.timeout_s for a tensor stops the run with a RunError naming
  // the rank, the op and what it waited for.
  MeasuredRun run(const MeasureOptions& options, const std::function<void(int)>& before_iteration = {});

  // The same layers run one micro-batch at a time through the whole model, no pipeline: the
  // reference the pipelined results must equal. Leaves its gradients in the stages.
  void run_reference();

  const std::vector<std::unique_ptr<CpuStage>>& stages() const { return stages_; }

 private:
  Timeline run_iteration(const MeasureOptions& options, bool pin);

  const Schedule& schedule_;
  const Dag& dag_;
  Dataflow flow_;
  ModelSpec spec_;
  int tokens_;
  std::uint64_t seed_;
  std::vector<std::unique_ptr<CpuStage>> stages_;
};

}  // namespace ppsim::cpu
