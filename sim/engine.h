#pragma once
// The discrete-event engine. Each rank runs its compute ops one at a time in program order (the
// DAG's order edges); each directional link runs its transfers one at a time, first come first
// served (ties by op id). An op starts when its inputs have arrived and its resource is free.
// Training-step ops (data-parallel collectives, the optimizer) start when their inputs are in: the
// DAG chains each channel's collectives in order, so their resource is one of their inputs.
// The engine only produces the timeline: statistics belong to sim/metrics.h.
#include <span>
#include <vector>

#include "sim/dag.h"
#include "sim/timeline.h"

namespace ppsim {

// The replay's working memory. Kept between calls (sim/simulator.h, jitter replays), a replay of a
// DAG no larger than the last allocates nothing.
struct ReplayBuffers {
  std::vector<InputCount> pending;   // per op: inputs not yet arrived
  std::vector<TimeNs> link_free;     // per resource (links only): when the link is next free
  std::vector<OpId> last_on_link;    // per resource: the transfer that last used the link
  std::vector<OpId> cursor;          // per rank: its next op
  std::vector<int> tickets;          // ranks whose next op got all its inputs, in that order
  std::vector<OpId> ready_steps;     // training-step ops whose inputs are all in, not yet run
};

// Replays the DAG; deterministic bit for bit. A cyclic DAG (a deadlocking schedule) is reported
// with DeadlockError before any timeline exists: the replay stops when nothing can move.
Timeline simulate(const Dag& dag);

// The same replay with every op's duration taken from `durations` (one per op, in op order)
// instead of the op table: jitter replays and what-if studies re-time one DAG many times.
Timeline simulate(const Dag& dag, std::span<const TimeNs> durations);

// Either replay (empty `durations`: the op table's) into `out`, reusing its memory and `buffers`'.
void simulate_into(const Dag& dag, std::span<const TimeNs> durations, Timeline& out, ReplayBuffers& buffers);

}  // namespace ppsim
