#pragma once
// How many micro-batches each stage holds at once when its rank follows the schedule's order: an F
// adds one, the last backward piece (W, or the fused backward) removes it. What a run of the order
// must stash, known before anything runs.
#include <vector>

#include "schedules/schedule.h"

namespace ppsim {

// Per virtual stage, the peak count of micro-batches in flight.
std::vector<int> peak_in_flight_by_stage(const Schedule& schedule);

}  // namespace ppsim
