#pragma once
// One profiler step of one rank: which of its GPU events and annotations belong to it.
#include <cstdint>
#include <optional>
#include <vector>

#include "measure/trace/trace_events.h"

namespace ppsim::trace {

struct StepWindow {
  std::int64_t step = -1;          // N of ProfilerStep#N; -1: the rank has no steps, the whole trace
  TimeNs host_start = 0, host_end = 0;  // the step's range on the host (the whole trace without steps)
  std::vector<std::uint32_t> gpu;  // indices into RankTrace::gpu, by start
};

// The step to analyse: `requested` when given (every rank must have it), else the last step that
// every rank has; -1 when some rank has no ProfilerStep at all (then each whole trace is one step).
// Throws InputError naming the ranks that lack a requested step.
std::int64_t choose_step(const std::vector<RankTrace>& ranks, std::optional<std::int64_t> requested);

// Rank `t`'s window of `step`: the GPU events launched inside its host range (by their launch
// call; an event with no known launch by its own start).
StepWindow step_window(const RankTrace& t, std::int64_t step);

// The host call that launched `e`, or nullptr (RankTrace::calls is sorted by correlation).
const HostCall* launch_of(const RankTrace& t, const GpuEvent& e);

}  // namespace ppsim::trace
