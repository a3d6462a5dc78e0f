#include "sim/size_estimate.h"

#include <limits>

#include "base/error.h"
#include "base/system_memory.h"
#include "schedules/registry.h"
#include "sim/timeline.h"

namespace ppsim {

SimulationSize estimate_simulation_size(const std::string& schedule, int ranks, int microbatches, int chunks) {
  const ScheduleKind* kind = find_schedule_kind(schedule);
  const std::int64_t per_item = kind && !kind->split_backward ? 2 : 3;
  const std::int64_t stages = static_cast<std::int64_t>(ranks) * chunks;
  SimulationSize s;
  s.compute_ops = per_item * stages * microbatches;
  s.transfers = ranks > 1 ? 2 * (stages - 1) * microbatches : 0;
  s.bytes = kSimulationFixedBytes + kSimulationBytesPerOp * s.ops();
  return s;
}

void check_fits(const SimulationSize& size, std::int64_t budget, const std::string& what, const std::string& flag) {
  const std::int64_t id_limit = std::numeric_limits<OpId>::max() - 1;
  const std::string ops = format_count(size.compute_ops) + " compute ops + " + format_count(size.transfers) +
                          " transfers = " + format_count(size.ops()) + " ops";
  if (size.ops() > id_limit)
    throw TooLargeError(what + " has " + ops + ", more than the " + format_count(id_limit) +
                        " a 32-bit op id can number (it would need about " + format_bytes(size.bytes) +
                        "); lower stages, microbatches or chunks");
  if (budget > 0 && size.bytes > budget)
    throw TooLargeError(what + " has " + ops + " and needs about " + format_bytes(size.bytes) + " of memory, but " +
                        format_bytes(budget) + " is available to it; lower stages, microbatches or chunks, or raise the "
                        "limit with " + flag + " (e.g. " + flag + " " + format_bytes(size.bytes + (size.bytes >> 3)) + ")");
}

}  // namespace ppsim
