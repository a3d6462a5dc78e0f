#pragma once
// `ppsim measure --device cpu`: executes a schedule for real. One worker thread per rank (pinned to
// its own core where the machine has enough) runs its action list in order on the rank's CpuStages,
// taking activations and gradients from its mailbox and copying its outputs into the neighbours'.
// Every op's start and end go into a Timeline over the same op table the simulator builds, so the
// measured run is reported and compared by the same metric code.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "measure/cpu/cpu_stage.h"
#include "schedules/schedule.h"
#include "sim/dag.h"
#include "sim/timeline.h"

namespace ppsim::cpu {

struct MeasureOptions {
  int iterations = 5;      // timed iterations (the median one is reported)
  int warmup = 1;          // untimed iterations before them
  int queue_depth = 0;     // tensors a mailbox holds before a sender waits; 0 = as the schedule needs
  bool pin_threads = true; // one core per rank when there are enough cores
  std::uint64_t seed = 1;
  // Instead of running the layers, every op takes its DAG duration on a virtual clock carried with
  // the tensors: the threads and message passing run for real, the times are deterministic.
  bool virtual_clock = false;
};

struct MeasuredRun {
  Timeline timeline;                         // the median iteration
  std::vector<TimeNs> iteration_makespans;   // every timed iteration, in order
  std::size_t reported_iteration = 0;
  bool pinned = false;
  std::string notes;
};

class CpuPipeline {
 public:
  // `dag` must have been built from `schedule`; the stages follow `partition` of `spec`.
  CpuPipeline(const Schedule& schedule, const Dag& dag, const ModelSpec& spec, const Partition& partition,
              int micro_batch_size, int sequence_length, std::uint64_t seed);

  // Runs warm-up and timed iterations; weight gradients are zeroed at the start of each.
  // `before_iteration(i)`, when given, runs before timed iteration i (outside the timing).
  MeasuredRun run(const MeasureOptions& options, const std::function<void(int)>& before_iteration = {});

  // The same layers run one micro-batch at a time through the whole model, no pipeline: the
  // reference the pipelined results must equal. Leaves its gradients in the stages.
  void run_reference();

  const std::vector<std::unique_ptr<CpuStage>>& stages() const { return stages_; }

 private:
  Timeline run_iteration(const MeasureOptions& options, bool pin);

  const Schedule& schedule_;
  const Dag& dag_;
  ModelSpec spec_;
  int tokens_;
  std::uint64_t seed_;
  std::vector<std::unique_ptr<CpuStage>> stages_;
  std::vector<OpId> compute_op_;   // (stage * M + mb) * 4 + slot -> op id
  std::vector<OpId> transfer_op_;  // (stage * M + mb) * 2 + (0 forward / 1 backward) -> op id, by sending stage
};

}  // namespace ppsim::cpu
