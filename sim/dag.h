#pragma once
// The schedule as a dependency DAG (Boost.Graph compressed sparse row): one node per action and per
// transfer. Edges: data dependencies (F of a stage needs F of the previous stage; the backward runs
// the chain in reverse and needs the stage's own F; W needs its B) and each rank's program order.
// Dependencies that cross ranks go through a transfer node on the directional link.
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/range/iterator_range.hpp>
#include <memory>

#include "schedules/schedule.h"
#include "sim/op_costs.h"
#include "sim/timeline.h"

namespace ppsim {

// Out-edges only: the hot paths walk forward; the rare backward questions (who blocks a deadlocked
// op) scan the edge list instead of doubling the graph's size.
using DagGraph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, boost::no_property,
                                                    boost::no_property, OpId, OpId>;

struct Dag {
  std::shared_ptr<OpTable> table;
  DagGraph graph;
  std::vector<OpId> in_degree;
};

// Builds the DAG. The schedule must have passed validate_schedule. A cycle (deadlock) is found by
// the first topological pass over it: simulate() or check_acyclic().
Dag build_dag(const Schedule& schedule, const OpCosts& costs);

// Throws DeadlockError when the dependencies form a cycle, naming the op each rank is blocked at
// and what it waits for (Kahn's algorithm: linear, never hangs).
void check_acyclic(const Dag& dag);

// The DeadlockError for a pass that stopped with `pending` unmet inputs left on some ops.
[[noreturn]] void report_deadlock(const Dag& dag, const std::vector<OpId>& pending);

// "2F0 on rank 1" / "transfer of B3 (stage 4 -> 3) on link 2->1": for messages.
std::string describe_op(const OpTable& table, OpId id);

}  // namespace ppsim
