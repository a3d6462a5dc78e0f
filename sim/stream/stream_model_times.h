#pragma once
// A stream's stage times from the cost model (issue 15: `model:` in place of `times:`): one item is
// one micro-batch (micro_batch_size sequences of sequence_length tokens) through the stage's
// layers, forward only, as the training forward computes it (no KV cache, no decode steps); a hop
// is the activation transfer between two stages (one per boundary, where they differ).
#include "sim/config/config.h"
#include "sim/stream/stream_config.h"

namespace ppsim {

// `config.stream` with its forward and transfer times from `config.model` (which must be set).
StreamConfig stream_with_model_times(const SimulationConfig& config);

}  // namespace ppsim
