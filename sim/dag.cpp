#include "sim/dag.h"

#include <algorithm>
#include <cassert>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "base/error.h"
#include "schedules/action_index.h"

namespace ppsim {
namespace {

constexpr __int128 kMaxTotalDurationNs = static_cast<__int128>(1) << 62;

// The DAG under construction: the op table, where each action landed, and the edges so far, all
// in the caller's buffers (their memory survives from one build to the next).
struct DagBuilder {
  const Schedule& schedule;
  const OpCosts& costs;
  OpTable& table_;
  DagBuildBuffers& b;
  ActionTable<OpId>& op_of;
  // The graph's rows, written directly: pipeline edges come producer by producer in id order (the
  // compute ops, then the transfers), so they need no sorting and no edge list.
  std::vector<OpId>& rowstart;
  std::vector<OpId>& column;
  std::size_t edge_bound = 0;  // at most this many pipeline edges (from add_compute_ops)

  DagBuilder(const Schedule& s, const OpCosts& c, OpTable& table, DagGraph& graph, DagBuildBuffers& buffers)
      : schedule(s), costs(c), table_(table), b(buffers), op_of(buffers.op_of),
        rowstart(graph.m_forward.m_rowstart), column(graph.m_forward.m_column) {
    op_of.reset(s.stages(), s.microbatches, kNoOp);
    // Per sending rank, its links so far as (dst, resource id): a rank sends to a few others, and a
    // dense P x P table took 5.9 GB at P = 38,385 (fuzz_command_line, --sweep-heatmap).
    if (b.links_from.size() < static_cast<std::size_t>(s.ranks)) b.links_from.resize(static_cast<std::size_t>(s.ranks));
    for (int r = 0; r < s.ranks; ++r) b.links_from[static_cast<std::size_t>(r)].clear();
    b.edges.clear();
    b.transfer_consumer.clear();  // by transfer, in id order
    b.joins.clear();  // (transfer, overlapped F op), in transfer order
    rowstart.clear();
    column.clear();
  }

  // A pipeline edge from the op whose edges are being written. `kind` documents the edge where it
  // is made; edge_kind() derives it again from the two ops.
  void add_edge([[maybe_unused]] OpId from, OpId to, [[maybe_unused]] EdgeKind kind) {
    assert(rowstart.size() == from + 1);
    column.push_back(to);
  }
  // A training-step edge: any source, merged into the rows by finish().
  void add_step_edge(OpId from, OpId to) { b.edges.emplace_back(from, to); }
  void add_compute_ops();
  int link_resource(int src, int dst);
  void feed(OpId producer, OpId consumer, TimeNs hop, EdgeKind carried);
  OpId backward_of(int stage, int microbatch) const;
  void add_dependencies();
  void add_training_step(const TrainingStepCosts& step);
  void finish();
};

// Compute ops, rank by rank in program order (so order successors are adjacent ids).
void DagBuilder::add_compute_ops() {
  OpTable& t = table_;
  const int P = schedule.ranks;
  t.ranks = P;
  t.chunks = schedule.chunks;
  t.stages = schedule.stages();
  t.microbatches = schedule.microbatches;
  t.rank_of_stage = schedule.rank_of_stage;
  t.ops.clear();
  t.resources.clear();
  t.rank_begin.clear();
  t.step_ops = 0;
  for (int r = 0; r < P; ++r) t.resources.push_back({"rank " + std::to_string(r), r, -1, -1});
  // Exact room for the ops and the pipeline edges: each F, B or BW may start one transfer; an F or
  // B has at most a data and a stash edge, a BW a data edge, a W none; each transfer one edge to
  // its consumer, and one more into an overlapped unit.
  std::size_t actions = 0, senders = 0, units = 0;
  for (const auto& order : schedule.order)
    for (const Action& a : order) {
      ++actions;
      senders += a.kind != ActionKind::W;
      edge_bound += a.kind == ActionKind::W ? 0 : a.kind == ActionKind::BW ? 1 : 2;
      units += a.overlapped_with_next;
    }
  edge_bound += senders + units;
  t.ops.reserve(actions + senders);
  t.rank_begin.reserve(P + 1);
  auto duration = [&](const Action& a) -> TimeNs {
    switch (a.kind) {
      case ActionKind::F: return costs.forward[a.stage];
      case ActionKind::B: return costs.backward_input[a.stage];
      case ActionKind::W: return costs.backward_weight[a.stage];
      case ActionKind::BW: return costs.backward_input[a.stage] + costs.backward_weight[a.stage];
    }
    return 0;
  };
  for (int r = 0; r < P; ++r) {
    t.rank_begin.push_back(static_cast<OpId>(t.ops.size()));
    const auto& order = schedule.order[r];
    for (std::size_t i = 0; i < order.size(); ++i) {
      const Action& a = order[i];
      op_of[a] = static_cast<OpId>(t.ops.size());
      // Filled in place: an Op assembled on the stack and copied in stalled on store forwarding.
      Op& op = t.ops.emplace_back();
      op.resource = r;
      op.stage = a.stage;
      op.microbatch = a.microbatch;
      op.kind = a.kind;
      op.duration = duration(a);
      if (a.overlapped_with_next) {  // the unit's time on its F; its backward (next) takes none
        op.overlapped = true;
        op.duration = costs.overlap_f_b.empty() ? op.duration + duration(order[i + 1]) : costs.overlap_f_b[r];
      } else if (i > 0 && order[i - 1].overlapped_with_next) {
        op.duration = 0;
      }
    }
  }
  t.rank_begin.push_back(static_cast<OpId>(t.ops.size()));
}

int DagBuilder::link_resource(int src, int dst) {
  OpTable& t = table_;
  std::vector<std::pair<int, int>>& links = b.links_from[static_cast<std::size_t>(src)];
  for (const auto& [to, id] : links)
    if (to == dst) return id;
  const int id = static_cast<int>(t.resources.size());
  t.resources.push_back({"link " + std::to_string(src) + "->" + std::to_string(dst), -1, src, dst});
  links.emplace_back(dst, id);
  return id;
}

// Data edge producer -> consumer, through a transfer node when they sit on different ranks.
void DagBuilder::feed(OpId producer, OpId consumer, TimeNs hop, EdgeKind carried) {
  OpTable& t = table_;
  const int src = t.ops[producer].resource, dst = t.ops[consumer].resource;
  if (src == dst) {
    add_edge(producer, consumer, carried);
    return;
  }
  const int link = link_resource(src, dst);
  const int stage = t.ops[producer].stage, microbatch = t.ops[producer].microbatch;
  const OpId transfer = static_cast<OpId>(t.ops.size());
  Op& x = t.ops.emplace_back();  // filled in place, as in add_compute_ops
  x.duration = hop;
  x.resource = link;
  x.stage = stage;
  x.microbatch = microbatch;
  x.kind = carried == EdgeKind::Activation ? ActionKind::F : ActionKind::B;
  x.is_transfer = true;
  add_edge(producer, transfer, carried);
  b.transfer_consumer.push_back(consumer);
  // The second half of an overlapped unit: the unit (its F op, just before) waits for this too.
  if (consumer > 0 && t.ops[consumer - 1].overlapped && t.ops[consumer - 1].resource == dst)
    b.joins.emplace_back(transfer, consumer - 1);
}

// The op that computes the stage's input gradient: B, or the fused BW.
OpId DagBuilder::backward_of(int stage, int microbatch) const {
  const OpId b = op_of(stage, microbatch, ActionKind::B);
  return b != kNoOp ? b : op_of(stage, microbatch, ActionKind::BW);
}

// Edges are written producer by producer: the compute ops in id order (each may start one
// transfer, numbered in the same order), then the transfers in id order. No edge list and no sort:
// the list and Boost's counting sort out of it took 9 bytes per edge more at the peak.
void DagBuilder::add_dependencies() {
  OpTable& t = table_;
  const OpId compute_count = t.compute_ops();
  column.reserve(edge_bound);
  rowstart.reserve(t.ops.capacity() + 1);
  b.transfer_consumer.reserve(compute_count);
  for (OpId v = 0; v < compute_count; ++v) {
    rowstart.push_back(static_cast<OpId>(column.size()));
    const OpId next = v + 1 < t.rank_begin[t.ops[v].resource + 1] ? v + 1 : kNoOp;  // on v's rank
    const Op op = t.ops[v];
    const int s = op.stage, m = op.microbatch;
    // A stash edge to the very next op on the rank is implied by program order: not stored.
    auto stash = [&](OpId to) {
      if (to != next) add_edge(v, to, EdgeKind::Stash);
    };
    switch (op.kind) {
      case ActionKind::F:
        if (s + 1 < schedule.end_stage(m))
          feed(v, op_of(s + 1, m, ActionKind::F), costs.forward_transfer[s], EdgeKind::Activation);
        stash(backward_of(s, m));  // the backward needs the stashed activations
        break;
      case ActionKind::B:
      case ActionKind::BW:
        if (op.kind == ActionKind::B) stash(op_of(s, m, ActionKind::W));
        if (s > schedule.first_stage(m))
          feed(v, backward_of(s - 1, m), costs.backward_transfer[s - 1], EdgeKind::Gradient);
        break;
      case ActionKind::W:
        break;
    }
  }
  // Each transfer's consumer, then the overlapped unit that also waits for it.
  std::size_t join = 0;
  for (std::size_t k = 0; k < b.transfer_consumer.size(); ++k) {
    const OpId x = static_cast<OpId>(compute_count + k);
    rowstart.push_back(static_cast<OpId>(column.size()));
    add_edge(x, b.transfer_consumer[k], t.ops[x].kind == ActionKind::F ? EdgeKind::Activation : EdgeKind::Gradient);
    for (; join < b.joins.size() && b.joins[join].first == x; ++join) add_edge(x, b.joins[join].second, EdgeKind::Join);
  }
  rowstart.push_back(static_cast<OpId>(column.size()));
  assert(column.size() <= edge_bound);
}

// Per rank, in the order the ops can run: ZeRO-3 gathers and per-backward reductions interleaved
// with the passes, or one reduction per stage as its gradients become final; then the optimizer
// on the rank's stream; then ZeRO-1/2's gathers of the updated parameters. Each channel runs its
// collectives in the order they are chained here, which is the order they become ready (a rank's
// ops end in program order).
void DagBuilder::add_training_step(const TrainingStepCosts& step) {
  OpTable& t = table_;
  const OpId pipeline_end = static_cast<OpId>(t.ops.size());
  for (int r = 0; r < schedule.ranks; ++r) {
    const OpId first = t.rank_begin[r], last = t.rank_begin[r + 1];
    if (first == last) continue;
    int channel = -1;
    OpId previous_collective = kNoOp;
    auto add_op = [&](StepKind kind, int resource, TimeNs duration, int stage, int microbatch) {
      Op op;
      op.duration = duration;
      op.resource = resource;
      op.stage = stage;
      op.microbatch = microbatch;
      op.step = kind;
      t.ops.push_back(op);
      return static_cast<OpId>(t.ops.size() - 1);
    };
    // A collective on the rank's data-parallel channel, after the one before it there.
    auto collective = [&](StepKind kind, TimeNs duration, int stage, int microbatch) {
      if (channel < 0) {
        channel = static_cast<int>(t.resources.size());
        Resource res;
        res.name = "dp " + std::to_string(r);
        res.data_parallel_of = r;
        t.resources.push_back(res);
      }
      const OpId v = add_op(kind, channel, duration, stage, microbatch);
      if (previous_collective != kNoOp) add_step_edge(previous_collective, v);
      previous_collective = v;
      return v;
    };
    auto gives_weight_gradients = [&](OpId v) { return t.ops[v].kind == ActionKind::W || t.ops[v].kind == ActionKind::BW; };
    auto needs_parameters = [&](OpId v) { return t.ops[v].kind != ActionKind::W; };
    auto gather_time = [&](OpId v) {
      return step.param_gather_before_pass.empty() ? TimeNs{0} : step.param_gather_before_pass[t.ops[v].stage];
    };
    const bool per_backward = step.reduce_every_backward;
    const bool reduce_now = step.overlap;  // a reduction may start as soon as its gradients are final
    // ZeRO-3 gathers (op v's parameters, issued once op v-2 is done) and per-backward reductions.
    std::vector<OpId>& deferred = b.deferred;  // reductions that wait for the rank's last op (no overlap)
    deferred.clear();
    auto gather_for = [&](OpId v) {
      if (v >= last || !needs_parameters(v) || gather_time(v) == 0) return;
      const OpId g = collective(StepKind::ParamGather, gather_time(v), t.ops[v].stage, t.ops[v].microbatch);
      if (v >= first + 2) add_step_edge(v - 2, g);
      add_step_edge(g, v);
    };
    gather_for(first);
    gather_for(first + 1);
    // The op of each stage after which its gradients are final: its last W or BW in program order.
    std::vector<OpId>& final_backward = b.final_backward;
    final_backward.assign(t.stages, kNoOp);
    for (OpId v = first; v < last; ++v)
      if (gives_weight_gradients(v)) final_backward[t.ops[v].stage] = v;
    for (OpId v = first; v < last; ++v) {
      gather_for(v + 2);
      if (!gives_weight_gradients(v)) continue;
      const int s = t.ops[v].stage;
      const TimeNs reduce = step.grad_reduce.empty() ? 0 : step.grad_reduce[s];
      if (reduce == 0 || (!per_backward && final_backward[s] != v)) continue;
      if (!reduce_now) {
        deferred.push_back(v);
        continue;
      }
      add_step_edge(v, collective(StepKind::GradReduce, reduce, s, t.ops[v].microbatch));
    }
    for (OpId v : deferred)
      add_step_edge(last - 1, collective(StepKind::GradReduce, step.grad_reduce[t.ops[v].stage], t.ops[v].stage,
                                         t.ops[v].microbatch));
    const OpId optimizer = add_op(StepKind::Optimizer, r, step.optimizer[r], t.ops[first].stage, 0);
    add_step_edge(last - 1, optimizer);
    if (previous_collective != kNoOp) add_step_edge(previous_collective, optimizer);
    std::vector<char>& gathered = b.gathered;
    gathered.assign(t.stages, 0);
    for (OpId v = first; v < last; ++v) {
      const int s = t.ops[v].stage;
      if (gathered[s] || step.param_gather_after_step.empty() || step.param_gather_after_step[s] == 0) continue;
      gathered[s] = 1;
      add_step_edge(optimizer, collective(StepKind::ParamGather, step.param_gather_after_step[s], s, 0));
    }
  }
  t.step_ops = static_cast<OpId>(t.ops.size()) - pipeline_end;
  assert(t.ops.size() < kNoOp);
}

void DagBuilder::finish() {
  const std::size_t n = table_.ops.size();
  // Every time the engine and the metrics compute is at most the sum of all op durations: bounding
  // it keeps the int64 ns clock (and sums of busy times) from overflowing on absurd inputs.
  __int128 total = 0;
  for (const Op& op : table_.ops) total += op.duration;
  if (total > kMaxTotalDurationNs)
    throw InputError("the op times add up to " + std::to_string(static_cast<double>(total) * 1e-9) +
                     " s, more than a simulation's clock holds (2^62 ns, about 146 years): check the times' units");
  const std::size_t pipeline_edges = column.size();
  rowstart.resize(n + 1, static_cast<OpId>(pipeline_edges));  // training-step ops: no pipeline edges
  if (b.edges.empty()) return;
  // Merge the training-step edges in, each after its source's pipeline edges and in the order they
  // were made.
  std::vector<OpId>& old = b.insert_at;
  old.assign(rowstart.begin(), rowstart.end());
  std::fill(rowstart.begin(), rowstart.end(), 0);
  for (const auto& e : b.edges) ++rowstart[e.first + 1];
  for (std::size_t v = 0; v < n; ++v) rowstart[v + 1] += rowstart[v];  // step edges from ops before v
  for (std::size_t v = 0; v <= n; ++v) rowstart[v] += old[v];
  column.resize(pipeline_edges + b.edges.size());
  for (std::size_t v = n; v-- > 0;)  // backwards: a row only moves up, over rows already moved
    std::copy_backward(column.begin() + old[v], column.begin() + old[v + 1], column.begin() + rowstart[v] + (old[v + 1] - old[v]));
  for (std::size_t v = 0; v < n; ++v) old[v] = rowstart[v] + (old[v + 1] - old[v]);  // where v's step edges go
  for (const auto& e : b.edges) column[old[e.first]++] = e.second;
}

}  // namespace

EdgeKind edge_kind(const OpTable& t, OpId from, OpId to) {
  if (t.is_step(from) || t.is_step(to)) return EdgeKind::Step;
  const Op& u = t.ops[from];
  const Op& w = t.ops[to];
  if (u.is_transfer) {
    const bool gradient = u.kind != ActionKind::F;
    if (gradient && w.kind == ActionKind::F) return EdgeKind::Join;
    return gradient ? EdgeKind::Gradient : EdgeKind::Activation;
  }
  if (w.is_transfer) return w.kind == ActionKind::F ? EdgeKind::Activation : EdgeKind::Gradient;
  if (u.kind == ActionKind::F) return w.kind == ActionKind::F ? EdgeKind::Activation : EdgeKind::Stash;
  return w.kind == ActionKind::W ? EdgeKind::Stash : EdgeKind::Gradient;
}

void in_degrees(const Dag& dag, std::vector<InputCount>& out) {
  const OpTable& t = *dag.table;
  out.assign(t.ops.size(), 0);
  // Program order: every compute op but each rank's first waits for the one before it.
  for (int r = 0; r < t.ranks; ++r)
    for (OpId v = t.rank_begin[r] + 1; v < t.rank_begin[r + 1]; ++v) out[v] = 1;
  for (OpId target : dag.graph.m_forward.m_column)
    if (++out[target] == 0) throw std::logic_error("in_degrees: " + describe_op(t, target) + " has over 255 inputs");
}

void check_acyclic(const Dag& dag) {
  const OpTable& t = *dag.table;
  const std::size_t n = t.ops.size();
  std::vector<InputCount> pending;
  in_degrees(dag, pending);
  std::vector<OpId> ready;
  ready.reserve(1024);
  for (OpId v = 0; v < n; ++v)
    if (pending[v] == 0) ready.push_back(v);
  std::size_t done = 0;
  while (!ready.empty()) {
    OpId v = ready.back();
    ready.pop_back();
    ++done;
    dag.for_each_successor(v, [&](OpId w) {
      if (--pending[w] == 0) ready.push_back(w);
    });
  }
  if (done != n) report_deadlock(dag, pending);
}

void report_deadlock(const Dag& dag, const std::vector<InputCount>& pending) {
  const OpTable& t = *dag.table;
  const std::size_t n = t.ops.size();
  // The first blocked op of each rank and its unmet inputs.
  std::vector<OpId> blocked_at(t.ranks, kNoOp);
  std::vector<char> is_blocked(n, 0);
  for (int r = 0; r < t.ranks; ++r)
    for (OpId v = t.rank_begin[r]; v < t.rank_begin[r + 1]; ++v)
      if (pending[v] != 0) {
        blocked_at[r] = v;
        is_blocked[v] = 1;
        break;
      }
  std::vector<std::vector<OpId>> unmet_inputs(t.ranks);
  std::vector<OpId> producer_of_transfer(n, kNoOp);
  for (OpId u = 0; u < n; ++u)
    for (auto e : boost::make_iterator_range(boost::out_edges(u, dag.graph))) {
      const OpId w = boost::target(e, dag.graph);
      if (t.ops[w].is_transfer) producer_of_transfer[w] = u;
    }
  for (OpId u = 0; u < n; ++u)
    dag.for_each_successor(u, [&](OpId w) {
      if (!is_blocked[w] || pending[u] == 0) return;
      // A transfer waits for its producer: name the producer, which is what the user wrote.
      const OpId named = t.ops[u].is_transfer ? producer_of_transfer[u] : u;
      unmet_inputs[t.ops[w].resource].push_back(named);
    });
  std::ostringstream os;
  os << "deadlock: the schedule's dependencies form a cycle, so these ops wait forever:";
  for (int r = 0; r < t.ranks; ++r) {
    const OpId v = blocked_at[r];
    if (v == kNoOp) continue;
    os << "\n  rank " << r << " is blocked at step " << (v - t.rank_begin[r]) << " (" << describe_op(t, v)
       << "), waiting for";
    bool first = true;
    for (OpId u : unmet_inputs[r]) {
      os << (first ? " " : ", ") << describe_op(t, u);
      first = false;
    }
  }
  throw DeadlockError(os.str());
}

std::string describe_op(const OpTable& t, OpId id) {
  const Op& op = t.ops[id];
  Action a{op.kind, op.stage, op.microbatch};
  std::ostringstream os;
  if (op.step != StepKind::None) {
    os << step_kind_name(op.step);
    if (op.step != StepKind::Optimizer) os << " of stage " << op.stage;
    os << " on " << t.resources[op.resource].name;
  } else if (op.is_transfer) {
    const Resource& link = t.resources[op.resource];
    os << "transfer of " << to_csv_string(a) << " on link " << link.src << "->" << link.dst;
  } else {
    os << to_csv_string(a) << " on rank " << op.resource;
  }
  return os.str();
}

void build_dag_into(const Schedule& schedule, const OpCosts& costs, const TrainingStepCosts& step, Dag& out,
                    DagBuildBuffers& buffers) {
  if (costs.stages() != schedule.stages())
    throw InputError("cost table has " + std::to_string(costs.stages()) + " stages but the schedule has " +
                     std::to_string(schedule.stages()));
  if (!step.empty() && static_cast<int>(step.optimizer.size()) != schedule.ranks)
    throw std::invalid_argument("build_dag: optimizer times for " + std::to_string(step.optimizer.size()) +
                                " ranks, the schedule has " + std::to_string(schedule.ranks));
  // The op table is rebuilt in place unless a timeline or another DAG still shares it.
  if (!out.table || out.table.use_count() != 1) out.table = std::make_shared<OpTable>();
  DagBuilder b(schedule, costs, *out.table, out.graph, buffers);
  b.add_compute_ops();
  b.add_dependencies();
  if (!step.empty()) b.add_training_step(step);
  assert(out.table->ops.size() < kNoOp);
  b.finish();
}

Dag build_dag(const Schedule& schedule, const OpCosts& costs, const TrainingStepCosts& step) {
  Dag dag;
  DagBuildBuffers buffers;
  build_dag_into(schedule, costs, step, dag, buffers);
  return dag;
}

}  // namespace ppsim
