#include "sim/engine.h"

#include <cassert>

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
  queue.reserve(t.resources.size() * 2 + 16);
  auto start_op = [&](OpId v, TimeNs now, OpId why) {
    tl.start[v] = now;
    tl.cause[v] = why;
    queue.push(now + t.ops[v].duration, v);
  };
  // An op whose inputs are all in: compute ops run at once (program order is an edge, so the rank
  // is free); a transfer waits for its link.
  auto on_ready = [&](OpId v, TimeNs now, OpId why) {
    const Op& op = t.ops[v];
    if (!op.is_transfer) {
      start_op(v, now, why);
      return;
    }
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
  const auto& g = dag.graph;
  while (!queue.empty()) {
    const EventQueue::Event ev = queue.pop();
    const OpId v = ev.op;
    const TimeNs now = ev.time;
    tl.end[v] = now;
    ++finished;
    const Op& op = t.ops[v];
    if (op.is_transfer) {
      LinkState& link = links[op.resource];
      if (link.has_waiting()) start_op(link.take(), now, v);
      else link.busy = false;
    }
    for (auto e : boost::make_iterator_range(boost::out_edges(v, g))) {
      const OpId w = boost::target(e, g);
      if (--pending[w] == 0) on_ready(w, now, v);
    }
  }
  assert(finished == n && "build_dag rejects cycles, so every op finishes");
  (void)finished;
  return tl;
}

}  // namespace ppsim
