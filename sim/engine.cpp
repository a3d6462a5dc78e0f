#include "sim/engine.h"


#include "sim/event_queue.h"

namespace ppsim {
namespace {

// A link's waiting transfers in arrival order: a ring over a vector, no per-op allocation.
struct LinkState {
  bool busy = false;
  std::vector<OpId> waiting;
  std::size_t head = 0;

  bool has_waiting() const { return head < waiting.size(); }
  OpId take() {
    OpId v = waiting[head++];
    if (head == waiting.size()) {
      waiting.clear();
      head = 0;
    }
    return v;
  }
};

}  // namespace

Timeline simulate(const Dag& dag) {
  const OpTable& t = *dag.table;
  const std::size_t n = t.ops.size();
  Timeline tl;
  tl.table = dag.table;
  tl.source = "simulated";
  tl.start.assign(n, 0);
  tl.end.assign(n, 0);
  tl.cause.assign(n, kNoOp);
  std::vector<OpId> pending(dag.in_degree);
  std::vector<LinkState> links(t.resources.size());

  EventQueue queue;
  const OpId compute_count = t.compute_ops();
  auto start_op = [&](OpId v, TimeNs now, OpId why) {
    tl.start[v] = now;
    tl.cause[v] = why;
    queue.push(now + t.ops[v].duration, v);
    // The successors are touched when v ends, a while from now: fetch them meanwhile, so the
    // engine is not bound by cache misses on the far ends of its edges.
    dag.for_each_successor(v, [&](OpId w) {
      __builtin_prefetch(&pending[w], 1);
      __builtin_prefetch(&t.ops[w], 0);
    });
  };
  // An op whose inputs are all in: compute ops run at once (program order is an edge, so the rank
  // is free); a transfer waits for its link.
  auto on_ready = [&](OpId v, TimeNs now, OpId why) {
    if (v < compute_count) {  // compute ops come first in the table, transfers after
      start_op(v, now, why);
      return;
    }
    const Op& op = t.ops[v];
    LinkState& link = links[op.resource];
    if (link.busy) {
      link.waiting.push_back(v);
    } else {
      link.busy = true;
      start_op(v, now, why);
    }
  };

  for (OpId v = 0; v < n; ++v)
    if (pending[v] == 0) on_ready(v, 0, kNoOp);

  std::size_t finished = 0;
  while (!queue.empty()) {
    const Event ev = queue.pop();
    const OpId v = ev.op;
    const TimeNs now = ev.time;
    tl.end[v] = now;
    ++finished;
    if (v >= compute_count) {
      LinkState& link = links[t.ops[v].resource];
      if (link.has_waiting()) start_op(link.take(), now, v);
      else link.busy = false;
    }
    dag.for_each_successor(v, [&](OpId w) {
      if (--pending[w] == 0) on_ready(w, now, v);
    });
  }
  // The replay is a topological pass: if ops are left, their dependencies form a cycle.
  if (finished != n) report_deadlock(dag, pending);
  return tl;
}

}  // namespace ppsim
