#pragma once
// The schedule as a dependency DAG: one node per action and per transfer. Two kinds of dependency:
// - each rank's program order (an op waits for the one before it on its rank), implicit: compute
//   ops are numbered rank by rank in order, so op v's order successor is v + 1 on the same rank;
// - data and stash edges, stored as a Boost.Graph compressed sparse row graph. What an edge carries
//   (an activation: F of a stage feeds F of the next; a gradient: the backward runs the chain in
//   reverse; a stash: the stage's own F before its backward, B before its W) follows from the ops at
//   its two ends, so it is not stored (edge_kind);
// - joins: an overlapped unit (F&B) is its F op, which takes the unit's whole time, then its
//   backward op, which takes none; the F op also waits for the backward's inputs.
// Data that crosses ranks goes through a transfer node on the directional link. A model-driven run
// adds the rest of a training step after the pipeline: per rank, the data-parallel collectives on
// its own channel ("dp r", one at a time in a fixed order) and the optimizer on its compute stream.
#include <boost/graph/compressed_sparse_row_graph.hpp>
#include <boost/range/iterator_range.hpp>
#include <cstdint>
#include <memory>

#include "schedules/action_index.h"
#include "schedules/schedule.h"
#include "sim/op_costs.h"
#include "sim/timeline.h"

namespace ppsim {

enum class EdgeKind : std::uint8_t {
  Activation,  // a forward output to the next stage's forward (directly or through a transfer)
  Gradient,    // an input gradient to the previous stage's backward
  Stash,       // within one stage and micro-batch: F before its backward, B before its W
  Join,        // an overlapped unit starts when the inputs of both halves are in
  Step,        // training-step ops: what each waits for (a stage's last backward, the collective
               // before it on the rank's data-parallel channel, the optimizer), and ZeRO-3's
               // parameter gathers before the passes that need them
};

// Out-edges only: the hot paths walk forward; the rare backward questions (who blocks a deadlocked
// op) scan the edge list instead of doubling the graph's size. No edge property: edge_kind derives
// it, which keeps the graph at 4 bytes per edge (issue 13: bytes per op are time per op).
using DagGraph = boost::compressed_sparse_row_graph<boost::directedS, boost::no_property, boost::no_property,
                                                    boost::no_property, OpId, OpId>;

struct Dag {
  std::shared_ptr<OpTable> table;
  DagGraph graph;  // data, stash, join and training-step edges

  // The op after v on v's rank, or kNoOp (v is a transfer or its rank's last op).
  OpId next_on_rank(OpId v) const {
    const OpTable& t = *table;
    if (v >= t.compute_ops()) return kNoOp;
    return v + 1 < t.rank_begin[t.ops[v].resource + 1] ? v + 1 : kNoOp;
  }

  // Calls f(w) for every op that waits for v: its order successor first, then the graph's edges.
  template <class F>
  void for_each_successor(OpId v, F&& f) const {
    if (const OpId next = next_on_rank(v); next != kNoOp) f(next);
    for (auto e : boost::make_iterator_range(boost::out_edges(v, graph))) f(boost::target(e, graph));
  }
};

// What the edge from op `from` to op `to` of the DAG carries, from the two ops alone: an edge
// touching a training-step op is Step; one from a transfer is what the transfer carries, or Join
// when a gradient goes to an F op (the overlapped unit waiting for its backward half's input); one
// between compute ops is Activation (F to F), Stash (F to its backward, B to its W) or Gradient.
EdgeKind edge_kind(const OpTable& table, OpId from, OpId to);

// An op's number of inputs: its order predecessor, its data or stash input, a join, a ZeRO-3 gather
// (at most 5). One byte per op: the replay keeps one count per op beside the timeline.
using InputCount = std::uint8_t;

// Every op's number of inputs (its order predecessor and its in-edges), into `out` (resized).
void in_degrees(const Dag& dag, std::vector<InputCount>& out);

// The DAG builder's working memory. Kept between builds (sim/simulator.h), a build no larger than
// the last allocates nothing.
struct DagBuildBuffers {
  ActionTable<OpId> op_of;                                     // where each action landed
  std::vector<std::vector<std::pair<int, int>>> links_from;    // per sending rank: (dst, link resource)
  std::vector<std::pair<OpId, OpId>> edges;                    // (from, to), producer by producer
  std::vector<OpId> transfer_consumer;                         // by transfer, in id order
  std::vector<std::pair<OpId, OpId>> joins;                    // (input, overlapped F op)
  std::vector<OpId> insert_at;                                 // the graph's rows being filled
  std::vector<OpId> deferred, final_backward;                  // training step, per rank
  std::vector<char> gathered;
};

// Builds the DAG, with training-step ops when `step` is not empty. The schedule must have passed
// validate_schedule. A cycle (deadlock) is found by the first topological pass over it: simulate()
// or check_acyclic().
Dag build_dag(const Schedule& schedule, const OpCosts& costs, const TrainingStepCosts& step = {});

// The same into `out`, reusing its memory (its op table too, when nothing else shares it) and
// `buffers`'.
void build_dag_into(const Schedule& schedule, const OpCosts& costs, const TrainingStepCosts& step, Dag& out,
                    DagBuildBuffers& buffers);

// Throws DeadlockError when the dependencies form a cycle, naming the op each rank is blocked at
// and what it waits for (Kahn's algorithm: linear, never hangs).
void check_acyclic(const Dag& dag);

// The DeadlockError for a pass that stopped with `pending` unmet inputs left on some ops.
[[noreturn]] void report_deadlock(const Dag& dag, const std::vector<InputCount>& pending);

// "2F0 on rank 1" / "transfer of B3 (stage 4 -> 3) on link 2->1": for messages.
std::string describe_op(const OpTable& table, OpId id);

}  // namespace ppsim
