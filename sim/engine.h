#pragma once
// The discrete-event engine. Each rank runs its compute ops one at a time in program order (the
// DAG's order edges); each directional link runs its transfers one at a time, first come first
// served (ties by op id). An op starts when its inputs have arrived and its resource is free.
// The engine only produces the timeline: statistics belong to sim/metrics.h.
#include "sim/dag.h"
#include "sim/timeline.h"

namespace ppsim {

// Replays the DAG; deterministic bit for bit. A cyclic DAG (a deadlocking schedule) is reported
// with DeadlockError before any timeline exists: the replay stops when nothing can move.
Timeline simulate(const Dag& dag);

}  // namespace ppsim
