#include "sim/engine.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ppsim {
namespace {

// Why no event queue: a rank runs its ops in program order, so each rank only ever has one op that
// can start next (its cursor), and the op's start is the latest of its inputs' arrivals. A link
// carries transfers from one rank only, in that rank's program order, which is also the order they
// become ready (a rank's ops end in time order): first come, first served is program order. So the
// replay is a topological pass that follows each rank's cursor, never sorting events by time, and
// touches memory near the cursors.
//
// The hot loop works on raw arrays (the op table's, the graph's rows and the timeline's) so that a
// store into the timeline never makes the compiler reload where the arrays are.
class Replay {
 public:
  Replay(const Dag& dag, std::span<const TimeNs> durations, Timeline& out, ReplayBuffers& b)
      : dag_(dag), t_(*dag.table), tl_(out), b_(b),
        ops_(t_.ops.data()),
        rowstart_(dag.graph.m_forward.m_rowstart.data()),
        column_(dag.graph.m_forward.m_column.data()),
        durations_(durations.empty() ? nullptr : durations.data()),
        compute_ops_(t_.compute_ops()),
        pipeline_ops_(t_.pipeline_ops()) {
    const std::size_t n = t_.ops.size();
    tl_.table = dag.table;
    tl_.source = "simulated";
    tl_.start.assign(n, 0);  // an op's start collects its inputs' arrivals until it runs
    tl_.end.assign(n, 0);
    tl_.cause.assign(n, kNoOp);
    in_degrees(dag, b_.pending);
    b_.link_free.assign(t_.resources.size(), 0);
    b_.last_on_link.assign(t_.resources.size(), kNoOp);
    b_.cursor.assign(t_.rank_begin.begin(), t_.rank_begin.end() - 1);
    b_.tickets.clear();
    b_.ready_steps.clear();
    start_ = tl_.start.data();
    end_ = tl_.end.data();
    cause_ = tl_.cause.data();
    pending_ = b_.pending.data();
  }

  void run() {
    std::size_t finished = 0;
    for (OpId v = pipeline_ops_; v < t_.ops.size(); ++v)
      if (pending_[v] == 0) b_.ready_steps.push_back(v);
    finished += run_ready_steps();
    const OpId* rank_begin = t_.rank_begin.data();
    OpId* cursor = b_.cursor.data();
    // Each time a rank's next op gets all its inputs, the rank takes a ticket at the back of a
    // first-come-first-served queue (during its own run too); a ticket runs the rank as far as it
    // can go, and finds nothing to do if an earlier ticket already did. This order visits
    // neighbouring ranks in turn, so a hand-off's consumer runs while the producer's writes are
    // still in the caches: P = 1024 replays twice as fast as with a last-in-first-out stack. The
    // queue holds a ticket per readiness not yet served: at most one per compute op and one per
    // rank at the start (its peak was 1.5 % of the ops at P = 1024, M = 4096 ZB-H1).
    std::vector<int>& tickets = b_.tickets;
    for (int r = t_.ranks - 1; r >= 0; --r)
      if (cursor[r] < rank_begin[r + 1] && pending_[cursor[r]] == 0) tickets.push_back(r);
    for (std::size_t next = 0; next < tickets.size();) {
      const int r = tickets[next++];
      if (next > 4096 && next * 2 > tickets.size()) {  // drop the served tickets
        tickets.erase(tickets.begin(), tickets.begin() + static_cast<std::ptrdiff_t>(next));
        next = 0;
      }
      const OpId end = rank_begin[r + 1];
      for (OpId v = cursor[r]; v < end && pending_[v] == 0; v = cursor[r]) {
        cursor[r] = v + 1;
        finished += run_op(v, v + 1 < end ? v + 1 : kNoOp);
        if (!b_.ready_steps.empty()) finished += run_ready_steps();
      }
    }
    // A topological pass that stops early: the dependencies form a cycle.
    if (finished != t_.ops.size()) report_deadlock(dag_, b_.pending);
  }

 private:
  // Runs compute op v (all its inputs are in) and the transfers it starts; returns the ops done.
  std::size_t run_op(OpId v, OpId next) {
    const TimeNs done_at = end_[v] = start_[v] + duration(v);
    std::size_t done = 1;
    if (next != kNoOp) arrive(next, done_at, v);
    for (OpId k = rowstart_[v], e = rowstart_[v + 1]; k < e; ++k) {
      const OpId w = column_[k];
      if (w < compute_ops_ || w >= pipeline_ops_) {  // compute ops first in the table, transfers, step ops
        arrive(w, done_at, v);
        continue;
      }
      // A transfer starts when its data is ready and its link is free, in the link's FIFO order.
      const int link = ops_[w].resource;
      TimeNs& link_free = b_.link_free[link];
      const bool waited = link_free > done_at;
      start_[w] = waited ? link_free : done_at;
      cause_[w] = waited ? b_.last_on_link[link] : v;
      const TimeNs arrived = end_[w] = link_free = start_[w] + duration(w);
      b_.last_on_link[link] = w;
      pending_[w] = 0;
      ++done;
      for (OpId x = rowstart_[w], xe = rowstart_[w + 1]; x < xe; ++x) arrive(column_[x], arrived, w);
    }
    return done;
  }

  // Training-step ops whose inputs are all in: each starts at its last input's arrival (its
  // channel's order is an input), so they need no resource bookkeeping.
  std::size_t run_ready_steps() {
    std::size_t done = 0;
    while (!b_.ready_steps.empty()) {
      const OpId v = b_.ready_steps.back();
      b_.ready_steps.pop_back();
      const TimeNs done_at = end_[v] = start_[v] + duration(v);
      ++done;
      for (OpId k = rowstart_[v], e = rowstart_[v + 1]; k < e; ++k) arrive(column_[k], done_at, v);
    }
    return done;
  }

  // An input of op w (compute or training step) arrives at `when` from op `from`; w's start is the
  // latest arrival, and its cause that input. Among inputs that arrive at the same latest instant,
  // the last one before w on w's own resource is the cause (a rank or channel that was busy until
  // then did not wait for the data), and otherwise the one with the smallest op id: a rule of the
  // inputs alone, so the replay may visit ranks in whatever order is fastest.
  void arrive(OpId w, TimeNs when, OpId from) {
    const OpId cause = cause_[w];
    if (when > start_[w] || cause == kNoOp || (when == start_[w] && credited_before(from, cause, w))) {
      start_[w] = std::max(start_[w], when);
      cause_[w] = from;
    }
    if (--pending_[w] == 0) {
      if (w >= pipeline_ops_) {
        b_.ready_steps.push_back(w);
        return;
      }
      // The rank takes a ticket: see run().
      const int r = ops_[w].resource;
      if (b_.cursor[r] == w) b_.tickets.push_back(r);
    }
  }

  bool is_order_input(OpId from, OpId w) const { return from + 1 == w && from < compute_ops_; }

  // Whether input a of op w is credited before input b when both arrive last (the rule above).
  bool credited_before(OpId a, OpId b, OpId w) const {
    // The common cases without touching the ops: the op before w on its rank is the last input on
    // w's own resource (a rank's ops are numbered in program order).
    if (is_order_input(a, w)) return true;
    if (is_order_input(b, w)) return false;
    const int own = ops_[w].resource;
    const bool a_own = ops_[a].resource == own, b_own = ops_[b].resource == own;
    if (a_own != b_own) return a_own;
    return a_own ? a > b : a < b;
  }


  TimeNs duration(OpId v) const { return durations_ ? durations_[v] : ops_[v].duration; }

  const Dag& dag_;
  const OpTable& t_;
  Timeline& tl_;
  ReplayBuffers& b_;
  const Op* ops_;
  const OpId* rowstart_;
  const OpId* column_;
  const TimeNs* durations_;  // null: the op table's
  TimeNs* start_ = nullptr;
  TimeNs* end_ = nullptr;
  OpId* cause_ = nullptr;
  InputCount* pending_ = nullptr;
  OpId compute_ops_, pipeline_ops_;
};

}  // namespace

void simulate_into(const Dag& dag, std::span<const TimeNs> durations, Timeline& out, ReplayBuffers& buffers) {
  if (!durations.empty() && durations.size() != dag.table->ops.size())
    throw std::invalid_argument("simulate: " + std::to_string(durations.size()) + " durations for " +
                                std::to_string(dag.table->ops.size()) + " ops");
  Replay(dag, durations, out, buffers).run();
}

Timeline simulate(const Dag& dag) {
  Timeline tl;
  ReplayBuffers buffers;
  simulate_into(dag, {}, tl, buffers);
  return tl;
}

Timeline simulate(const Dag& dag, std::span<const TimeNs> durations) {
  if (durations.size() != dag.table->ops.size())
    throw std::invalid_argument("simulate: " + std::to_string(durations.size()) + " durations for " +
                                std::to_string(dag.table->ops.size()) + " ops");
  Timeline tl;
  ReplayBuffers buffers;
  simulate_into(dag, durations, tl, buffers);
  return tl;
}

}  // namespace ppsim
