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
// touches memory near the cursors (cache-friendly at any pipeline size).
class Replay {
 public:
  Replay(const Dag& dag, std::span<const TimeNs> durations)
      : dag_(dag),
        durations_(durations),
        t_(*dag.table),
        pending_(dag.in_degree),
        link_free_(t_.resources.size(), 0),
        last_on_link_(t_.resources.size(), kNoOp),
        cursor_(t_.rank_begin.begin(), t_.rank_begin.end() - 1),
        compute_ops_(t_.compute_ops()),
        pipeline_ops_(t_.pipeline_ops()) {
    tl_.table = dag.table;
    tl_.source = "simulated";
    tl_.start.assign(t_.ops.size(), 0);  // an op's start collects its inputs' arrivals until it runs
    tl_.end.assign(t_.ops.size(), 0);
    tl_.cause.assign(t_.ops.size(), kNoOp);
    ready_ranks_.reserve(t_.ranks);
  }

  Timeline run() {
    std::size_t finished = 0;
    for (OpId v = pipeline_ops_; v < t_.ops.size(); ++v)
      if (pending_[v] == 0) ready_steps_.push_back(v);
    finished += run_ready_steps();
    for (int r = t_.ranks - 1; r >= 0; --r)
      if (cursor_[r] < t_.rank_begin[r + 1] && pending_[cursor_[r]] == 0) ready_ranks_.push_back(r);
    while (!ready_ranks_.empty()) {
      const int r = ready_ranks_.back();
      ready_ranks_.pop_back();
      const OpId end = t_.rank_begin[r + 1];
      for (OpId v = cursor_[r]; v < end && pending_[v] == 0; v = cursor_[r]) {
        cursor_[r] = v + 1;
        finished += run_op(v);
        finished += run_ready_steps();
      }
    }
    // A topological pass that stops early: the dependencies form a cycle.
    if (finished != t_.ops.size()) report_deadlock(dag_, pending_);
    return std::move(tl_);
  }

 private:
  // Runs compute op v (all its inputs are in) and the transfers it starts; returns the ops done.
  std::size_t run_op(OpId v) {
    tl_.end[v] = tl_.start[v] + duration(v);
    std::size_t done = 1;
    if (const OpId next = dag_.next_on_rank(v); next != kNoOp) arrive(next, tl_.end[v], v);
    for (auto e : boost::make_iterator_range(boost::out_edges(v, dag_.graph))) {
      const OpId w = boost::target(e, dag_.graph);
      if (w < compute_ops_ || w >= pipeline_ops_) {  // compute ops first in the table, transfers, step ops
        arrive(w, tl_.end[v], v);
        continue;
      }
      // A transfer starts when its data is ready and its link is free, in the link's FIFO order.
      const int link = t_.ops[w].resource;
      const bool waited = link_free_[link] > tl_.end[v];
      tl_.start[w] = waited ? link_free_[link] : tl_.end[v];
      tl_.cause[w] = waited ? last_on_link_[link] : v;
      tl_.end[w] = link_free_[link] = tl_.start[w] + duration(w);
      last_on_link_[link] = w;
      pending_[w] = 0;
      ++done;
      for (auto x : boost::make_iterator_range(boost::out_edges(w, dag_.graph))) arrive(boost::target(x, dag_.graph), tl_.end[w], w);
    }
    return done;
  }

  // Training-step ops whose inputs are all in: each starts at its last input's arrival (its
  // channel's order is an input), so they need no resource bookkeeping.
  std::size_t run_ready_steps() {
    std::size_t done = 0;
    while (!ready_steps_.empty()) {
      const OpId v = ready_steps_.back();
      ready_steps_.pop_back();
      tl_.end[v] = tl_.start[v] + duration(v);
      ++done;
      for (auto e : boost::make_iterator_range(boost::out_edges(v, dag_.graph))) arrive(boost::target(e, dag_.graph), tl_.end[v], v);
    }
    return done;
  }

  // An input of op w (compute or training step) arrives at `when` from op `from`; w's start is the latest arrival, and
  // its cause that input. On a tie the op before w on its rank is the cause: a rank that was busy
  // until then did not wait for the data.
  void arrive(OpId w, TimeNs when, OpId from) {
    const bool order_input = from + 1 == w && from < compute_ops_;
    if (when > tl_.start[w] || tl_.cause[w] == kNoOp || (when == tl_.start[w] && order_input)) {
      tl_.start[w] = std::max(tl_.start[w], when);
      tl_.cause[w] = from;
    }
    if (--pending_[w] == 0) {
      if (w >= pipeline_ops_) {
        ready_steps_.push_back(w);
        return;
      }
      const int r = t_.ops[w].resource;
      if (cursor_[r] == w) ready_ranks_.push_back(r);
    }
  }

  TimeNs duration(OpId v) const { return durations_.empty() ? t_.ops[v].duration : durations_[v]; }

  const Dag& dag_;
  std::span<const TimeNs> durations_;  // empty: the op table's
  const OpTable& t_;
  Timeline tl_;
  std::vector<OpId> pending_;          // inputs not yet arrived, per op
  std::vector<TimeNs> link_free_;      // per resource (links only): when the link is next free
  std::vector<OpId> last_on_link_;     // the transfer that last used each link
  std::vector<OpId> cursor_;           // per rank: its next op
  std::vector<int> ready_ranks_;       // ranks whose cursor op has all its inputs
  std::vector<OpId> ready_steps_;      // training-step ops whose inputs are all in, not yet run
  OpId compute_ops_, pipeline_ops_;
};

}  // namespace

Timeline simulate(const Dag& dag) { return Replay(dag, {}).run(); }

Timeline simulate(const Dag& dag, std::span<const TimeNs> durations) {
  if (durations.size() != dag.table->ops.size())
    throw std::invalid_argument("simulate: " + std::to_string(durations.size()) + " durations for " +
                                std::to_string(dag.table->ops.size()) + " ops");
  return Replay(dag, durations).run();
}

}  // namespace ppsim
