#pragma once
// The DAG's longest path (sum of durations along the heaviest chain), computed independently of the
// engine from a topological order. When no resource is contended out of order the engine's
// makespan must equal it: the two computations check each other.
#include "sim/dag.h"

namespace ppsim {

TimeNs dag_longest_path(const Dag& dag);

}  // namespace ppsim
