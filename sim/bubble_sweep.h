#pragma once
// The bubble of one config's schedule over a grid of stage counts P and micro-batch counts M
// (`ppsim simulate --sweep-heatmap P_LIST M_LIST`): every cell a whole simulation through
// run_simulation, the config's other keys kept.
#include <vector>

#include "sim/config/config.h"
#include "sim/report/svg_heatmap.h"

namespace ppsim {

// The bubble fraction at each (P, M); NaN where the schedule refuses the shape (or the cost model
// the split). Explicit per-rank times must be one value per key (the same on every rank), and a
// model-driven config needs `partition: auto`, since both are sized for the config's own P:
// otherwise InputError. A cell's memory does not matter here: no limit applies.
Heatmap sweep_bubble(const SimulationConfig& config, const std::vector<int>& stages, const std::vector<int>& microbatches);

}  // namespace ppsim
