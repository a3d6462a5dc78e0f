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

// Same times on every stage and every hop.
OpCosts uniform_costs(int stages, TimeNs forward, TimeNs backward_input, TimeNs backward_weight, TimeNs transfer);

}  // namespace ppsim
