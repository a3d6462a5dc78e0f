#pragma once
// Puts every rank's timestamps on the first rank's clock. Ranks on different hosts each stamp
// with their own clock, so a gap that is really a wait for a neighbour can look like anything
// until the clocks agree. Two ranks that talk run matching NCCL send/recv kernels that finish
// together (the transfer ends for both), so the offset between their clocks is the one that makes
// most of their send/recv kernel ends coincide. Where two ranks share no such pairs, the start of
// the analysed profiler step stands in (each rank enters the step at about the same moment).
#include <string>
#include <utility>
#include <vector>

#include "measure/trace/step_window.h"
#include "measure/trace/trace_events.h"

namespace ppsim::trace {

struct RankClock {
  TimeNs offset_ns = 0;       // added to the rank's times
  std::string method;         // "reference", "nccl send/recv pairs with rank N", "profiler step start", "none"
  std::int64_t matched = 0;   // send/recv kernel ends that coincided after the shift
  TimeNs spread_ns = 0;       // largest distance of a matched pair from the offset chosen
};

// Offsets for every rank; rank 0 is the reference. `talks` lists the pairs of ranks that exchange
// pipeline data (from the schedule, or neighbouring ranks); each rank is aligned through the first
// path of such pairs from rank 0, pair by pair. `tolerance_ns` is how close two kernel ends must be
// to count as one transfer.
std::vector<RankClock> align_clocks(const std::vector<RankTrace>& ranks, const std::vector<StepWindow>& windows,
                                    const std::vector<std::pair<int, int>>& talks, TimeNs tolerance_ns = 2000);

// Adds `offset` to every time of the rank (its GPU events, host calls, ranges and steps).
void shift_clock(RankTrace& t, StepWindow& w, TimeNs offset);

}  // namespace ppsim::trace
