#pragma once
// The durations the DAG gives its ops: per virtual stage compute times and per boundary hop times.
// Built from explicit `times:` or from the cost model (models/stage_costs.h).
#include <vector>

#include "base/time.h"

namespace ppsim {

struct OpCosts {
  // Indexed by virtual stage 0..S-1 (model order). A fused backward (BW) takes B + W.
  std::vector<TimeNs> forward, backward_input, backward_weight;
  // Indexed by boundary s (between stage s and s+1), size S-1: the activation hop s -> s+1 and the
  // gradient hop s+1 -> s. Only used where the two stages live on different ranks.
  std::vector<TimeNs> forward_transfer, backward_transfer;
  // Indexed by rank: an overlapped unit (an F beside another micro-batch's backward, DualPipe's
  // F&B) on that rank. Empty: the unit costs its two halves, F + B (no overlap gain assumed).
  std::vector<TimeNs> overlap_f_b;

  int stages() const { return static_cast<int>(forward.size()); }
};

// The rest of a training step after the pipeline (issue 12), for the DAG's step ops; empty (no
// optimizer times) when the run is the pipeline alone (explicit times, measured runs).
struct TrainingStepCosts {
  // Indexed by virtual stage: the collective that reduces the stage's gradients over the
  // data-parallel replicas (0 with d = 1: no op), run once after the stage's last backward, or
  // after every backward when `reduce_every_backward` (ZeRO-2/3 keep only a gradient shard).
  std::vector<TimeNs> grad_reduce;
  bool reduce_every_backward = false;
  // The reductions start as each stage's gradients become final, under the remaining backward
  // work (Megatron/DDP buckets); false: all after the rank's last pipeline op.
  bool overlap = true;
  // Indexed by virtual stage: ZeRO-1/2's all-gather of the updated parameter shards after the
  // optimizer (0 = none).
  std::vector<TimeNs> param_gather_after_step;
  // Indexed by virtual stage: ZeRO-3's all-gather of the stage's parameters before each of its F
  // and backward ops, prefetched one op ahead (0 = none).
  std::vector<TimeNs> param_gather_before_pass;
  // Indexed by rank: the optimizer update of the rank's parameter shard, on its compute stream.
  std::vector<TimeNs> optimizer;

  bool empty() const { return optimizer.empty(); }
};

// Same times on every stage and every hop.
OpCosts uniform_costs(int stages, TimeNs forward, TimeNs backward_input, TimeNs backward_weight, TimeNs transfer);

}  // namespace ppsim
