#pragma once
// PyTorch's pipeline-order CSV: one row per rank, cells like "0F0", "1I3", "1W3", "2B0" (stage,
// kind, micro-batch; I = input-gradient backward, W = weight gradient, B = full backward).
// Empty cells (idle steps in PyTorch's dumps) are skipped.
#include <string>

#include "schedules/schedule.h"

namespace ppsim {

// The CSV text of a schedule.
std::string write_order_csv(const Schedule& schedule);

// Reads a schedule for `ranks` ranks, `microbatches` micro-batches and `chunks` chunks per rank;
// the stage placement is taken from the rows. `source` is the file name for error messages
// ("order.csv:3:7: ..."). The result is validated.
Schedule read_order_csv(const std::string& text, const std::string& source, int ranks, int microbatches, int chunks);

}  // namespace ppsim
