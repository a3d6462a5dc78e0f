#include "measure/trace/traced_timeline.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "base/error.h"
#include "schedules/action_index.h"
#include "schedules/validate.h"
#include "sim/dataflow.h"
#include "sim/op_costs.h"

namespace ppsim::trace {
namespace {

bool named(const TracedOp& op) { return op.stage >= 0 && op.microbatch >= 0; }

std::string counts(const std::vector<Action>& order) {
  std::map<std::string, int> n;
  for (const Action& a : order) ++n[kind_name(a.kind)];
  std::string out;
  for (const auto& [k, c] : n) out += (out.empty() ? "" : ", ") + k + ": " + std::to_string(c);
  return out;
}

std::string counts(const std::vector<TracedOp>& ops) {
  std::vector<Action> order;
  for (const TracedOp& o : ops) order.push_back({o.kind, 0, 0});
  return counts(order);
}

// Ops without names take them from the expected schedule's order, position by position.
void name_by_position(std::vector<RankOps>& ranks, const Schedule& expected, std::vector<std::string>& notes) {
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    std::vector<TracedOp>& ops = ranks[r].ops;
    const std::vector<Action>& order = expected.order[r];
    if (ops.size() != order.size())
      throw InputError("rank " + std::to_string(r) + ": the traced step has " + std::to_string(ops.size()) + " ops (" +
                       counts(ops) + ") but schedule " + expected.kind + " gives this rank " +
                       std::to_string(order.size()) + " (" + counts(order) +
                       "): is --schedule-yaml the schedule that ran, with its P, M and V, and --step one whole step?");
    for (std::size_t k = 0; k < ops.size(); ++k) {
      TracedOp& op = ops[k];
      const Action& a = order[k];
      const bool fits = op.kind == a.kind && (op.stage < 0 || op.stage == a.stage) &&
                        (op.microbatch < 0 || op.microbatch == a.microbatch);
      if (!fits)
        throw InputError("rank " + std::to_string(r) + ", op " + std::to_string(k) + ": the trace has " +
                         kind_name(op.kind) +
                         (op.stage >= 0 ? " of stage " + std::to_string(op.stage) : std::string()) +
                         (op.microbatch >= 0 ? " micro-batch " + std::to_string(op.microbatch) : std::string()) +
                         " where schedule " + expected.kind + " has " + to_csv_string(a) +
                         " (its annotations do not name every op, so they are matched by position)");
      op.stage = a.stage;
      op.microbatch = a.microbatch;
    }
  }
  notes.push_back("the annotations do not name every op's stage and micro-batch: they were taken from " +
                  expected.kind + "'s order, position by position (the kinds agree)");
}

// Without a schedule: a rank whose ops name no stage runs stage = its rank; missing micro-batches
// count up per stage and kind in issue order.
void name_single_stage(std::vector<RankOps>& ranks, std::vector<std::string>& notes) {
  bool filled = false;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    std::vector<TracedOp>& ops = ranks[r].ops;
    const bool any_stage = std::any_of(ops.begin(), ops.end(), [](const TracedOp& o) { return o.stage >= 0; });
    std::map<std::pair<int, int>, int> next;
    for (TracedOp& op : ops) {
      if (!any_stage) op.stage = static_cast<int>(r), filled = true;
      if (op.stage < 0)
        throw InputError("rank " + std::to_string(r) + ": some ops name their stage and some do not; give --schedule-yaml "
                         "so they can be matched to its order");
      if (op.microbatch < 0) op.microbatch = next[{op.stage, kind_index(op.kind)}]++, filled = true;
    }
  }
  if (filled)
    notes.push_back("the annotations do not name every op's stage or micro-batch: each rank was taken to run one "
                    "stage (its own), its micro-batches in order (give --schedule-yaml for another schedule)");
}

std::vector<std::vector<Action>> traced_orders(const std::vector<RankOps>& ranks) {
  std::vector<std::vector<Action>> orders(ranks.size());
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    const auto& ops = ranks[r].ops;
    for (std::size_t k = 0; k < ops.size(); ++k) {
      Action a{ops[k].kind, ops[k].stage, ops[k].microbatch};
      a.overlapped_with_next = ops[k].overlapped && k + 1 < ops.size() && ops[k + 1].overlapped && ops[k].kind == ActionKind::F &&
                               ops[k + 1].kind != ActionKind::F;
      orders[r].push_back(a);
    }
  }
  return orders;
}

// A schedule read off the trace alone: P ranks, the stages and micro-batches the names give.
Schedule infer_schedule(const std::vector<std::vector<Action>>& orders) {
  Schedule s;
  s.kind = "traced";
  s.ranks = static_cast<int>(orders.size());
  int stages = 0;
  for (const auto& order : orders)
    for (const Action& a : order) {
      stages = std::max(stages, a.stage + 1);
      s.microbatches = std::max(s.microbatches, a.microbatch + 1);
      s.split_backward = s.split_backward || a.kind == ActionKind::B || a.kind == ActionKind::W;
    }
  if (stages % s.ranks != 0)
    throw InputError("the traces name " + std::to_string(stages) + " stages on " + std::to_string(s.ranks) +
                     " ranks: give --schedule-yaml (or the traces of every rank of the pipeline)");
  s.chunks = stages / s.ranks;
  s.rank_of_stage.assign(static_cast<std::size_t>(stages), -1);
  for (std::size_t r = 0; r < orders.size(); ++r)
    for (const Action& a : orders[r]) {
      int& where = s.rank_of_stage[static_cast<std::size_t>(a.stage)];
      if (where >= 0 && where != static_cast<int>(r))
        throw InputError("stage " + std::to_string(a.stage) + " has ops on rank " + std::to_string(where) + " and rank " +
                         std::to_string(r) + ": give --schedule-yaml for a schedule with model copies (DualPipe)");
      where = static_cast<int>(r);
    }
  for (int st = 0; st < stages; ++st)
    if (s.rank_of_stage[static_cast<std::size_t>(st)] < 0)
      throw InputError("stage " + std::to_string(st) + " has no op in any trace (missing a rank's trace?)");
  s.order = orders;
  return s;
}

// The first place each rank's traced order leaves the expected one, for the notes.
std::vector<std::string> order_differences(const std::vector<std::vector<Action>>& traced, const Schedule& expected) {
  std::vector<std::string> out;
  for (std::size_t r = 0; r < traced.size(); ++r) {
    const auto& a = traced[r];
    const auto& b = expected.order[r];
    for (std::size_t k = 0; k < std::max(a.size(), b.size()); ++k) {
      const bool same = k < a.size() && k < b.size() && a[k] == b[k];
      if (same) continue;
      out.push_back("rank " + std::to_string(r) + " op " + std::to_string(k) + ": traced " +
                    (k < a.size() ? to_csv_string(a[k]) : std::string("(none)")) + ", " + expected.kind + " has " +
                    (k < b.size() ? to_csv_string(b[k]) : std::string("(none)")));
      break;
    }
  }
  return out;
}

}  // namespace

void infer_causes(const Dag& dag, Timeline& tl) {
  const OpTable& t = *dag.table;
  const std::size_t n = t.ops.size();
  std::vector<std::vector<OpId>> inputs(n);
  for (OpId u = 0; u < n; ++u)
    for (auto e : boost::make_iterator_range(boost::out_edges(u, dag.graph))) inputs[boost::target(e, dag.graph)].push_back(u);
  tl.cause.assign(n, kNoOp);
  for (OpId v = 0; v < n; ++v) {
    OpId best = kNoOp;
    auto consider = [&](OpId u, bool prefer) {
      if (best == kNoOp || tl.end[u] > tl.end[best] || (prefer && tl.end[u] == tl.end[best])) best = u;
    };
    if (v < t.compute_ops() && v > t.rank_begin[t.ops[v].resource]) consider(v - 1, false);
    for (OpId u : inputs[v]) consider(u, true);
    tl.cause[v] = best;
  }
  // A transfer that found its link busy waited for the one before it on that link.
  std::map<int, std::vector<OpId>> by_link;
  for (OpId u = t.compute_ops(); u < n; ++u) by_link[t.ops[u].resource].push_back(u);
  for (auto& [link, list] : by_link) {
    std::sort(list.begin(), list.end(), [&](OpId a, OpId b) { return tl.start[a] < tl.start[b]; });
    for (std::size_t k = 1; k < list.size(); ++k) {
      const OpId u = list[k], prev = list[k - 1];
      const OpId producer = tl.cause[u];
      if (tl.end[prev] == tl.start[u] && (producer == kNoOp || tl.end[prev] > tl.end[producer])) tl.cause[u] = prev;
    }
  }
}

TracedRun build_traced_run(const std::vector<RankOps>& input, const std::optional<Schedule>& expected,
                           const std::string& source) {
  std::vector<RankOps> ranks = input;
  TracedRun run;
  if (expected && static_cast<int>(ranks.size()) != expected->ranks)
    throw InputError("--schedule-yaml has " + std::to_string(expected->ranks) + " pipeline ranks but " +
                     std::to_string(ranks.size()) + " traces were given (one per pipeline rank)");
  bool all_named = true;
  for (const RankOps& r : ranks)
    for (const TracedOp& op : r.ops) all_named = all_named && named(op);
  if (!all_named) {
    if (expected) name_by_position(ranks, *expected, run.notes);
    else name_single_stage(ranks, run.notes);
  }
  const std::vector<std::vector<Action>> orders = traced_orders(ranks);
  if (expected) {
    const std::vector<std::string> diff = order_differences(orders, *expected);
    if (diff.empty()) {
      run.schedule = *expected;
    } else {
      run.order_matches_expected = false;
      run.schedule = *expected;
      run.schedule.order = orders;
      run.schedule.kind = expected->kind + " (traced order)";
      for (const std::string& d : diff) run.notes.push_back("the traced order differs from " + expected->kind + "'s: " + d);
      run.notes.push_back("the traced order is used (each rank's ops as they were issued)");
    }
  } else {
    run.schedule = infer_schedule(orders);
    run.notes.push_back("schedule read off the trace: P = " + std::to_string(run.schedule.ranks) + ", " +
                        std::to_string(run.schedule.stages()) + " stages, M = " + std::to_string(run.schedule.microbatches) +
                        (run.schedule.split_backward ? ", backward split into B and W" : ", fused backward"));
  }
  validate_schedule(run.schedule, source);
  const Schedule& s = run.schedule;
  run.dag = build_dag(s, uniform_costs(s.stages(), 0, 0, 0, 0));
  check_acyclic(run.dag);
  const OpTable& t = *run.dag.table;

  Timeline& tl = run.timeline;
  tl.table = run.dag.table;
  tl.source = "traced (" + source + ")";
  tl.start.assign(t.ops.size(), 0);
  tl.end.assign(t.ops.size(), 0);
  run.traced_of.assign(t.compute_ops(), {-1, -1});
  for (int r = 0; r < t.ranks; ++r) {
    const std::vector<TracedOp>& ops = ranks[static_cast<std::size_t>(r)].ops;
    ActionTable<int> index(s.stages(), s.microbatches, -1);
    for (std::size_t k = 0; k < ops.size(); ++k) index(ops[k].stage, ops[k].microbatch, ops[k].kind) = static_cast<int>(k);
    TimeNs prev_end = std::numeric_limits<TimeNs>::max();
    for (const TracedOp& op : ops)
      if (op.on_gpu) prev_end = std::min(prev_end, op.start);
    if (prev_end == std::numeric_limits<TimeNs>::max()) prev_end = 0;
    for (OpId v = t.rank_begin[r]; v < t.rank_begin[r + 1]; ++v) {
      const Op& o = t.ops[v];
      const int k = index(o.stage, o.microbatch, o.kind);
      run.traced_of[v] = {r, k};
      const TracedOp& op = ops[static_cast<std::size_t>(k)];
      TimeNs a = op.on_gpu ? op.start : prev_end, z = op.on_gpu ? op.end : prev_end;
      if (o.overlapped && v + 1 < t.rank_begin[r + 1]) {  // the unit's F holds both halves' time
        const Op& next = t.ops[v + 1];
        const TracedOp& other = ops[static_cast<std::size_t>(index(next.stage, next.microbatch, next.kind))];
        if (other.on_gpu) a = op.on_gpu ? std::min(a, other.start) : other.start, z = std::max(z, other.end);
      } else if (v > t.rank_begin[r] && t.ops[v - 1].overlapped) {  // its backward takes no time of its own
        a = z = tl.end[v - 1];
      }
      // One op at a time per rank, as in the simulator: an op whose kernels overlap the previous
      // op's (another stream) starts when that one ended.
      if (v > t.rank_begin[r]) a = std::max(a, tl.end[v - 1]);
      tl.start[v] = a;
      tl.end[v] = std::max(a, z);
      prev_end = std::max(prev_end, tl.end[v]);
    }
  }

  // Transfers: from the sends and receives the trace shows.
  using Key = std::tuple<int, bool, int, int>;  // (role, gradient, stage, micro-batch)
  std::vector<std::map<Key, const TracedTransfer*>> xfers(ranks.size());
  for (std::size_t r = 0; r < ranks.size(); ++r)
    for (const TracedTransfer& x : ranks[r].transfers)
      if (x.on_gpu) xfers[r][{static_cast<int>(x.role), x.gradient, x.stage, x.microbatch}] = &x;
  const Dataflow flow(run.dag);
  run.transfer_measured.assign(t.ops.size() - t.compute_ops(), false);
  int timed = 0, untimed = 0;
  for (OpId u = t.compute_ops(); u < t.ops.size(); ++u) {
    const Handoff& h = flow.carried_by(u);
    const Op& producer = t.ops[h.producer];
    const Op& consumer = t.ops[h.consumer];
    const bool gradient = h.payload == Payload::Gradient;
    TimeNs start = tl.end[h.producer];
    TimeNs end = -1;
    auto& sent = xfers[static_cast<std::size_t>(producer.resource)];
    auto& received = xfers[static_cast<std::size_t>(consumer.resource)];
    if (auto it = sent.find({static_cast<int>(PatternRole::Send), gradient, producer.stage, producer.microbatch}); it != sent.end())
      start = std::max(start, it->second->start);
    if (auto it = received.find({static_cast<int>(PatternRole::Recv), gradient, consumer.stage, consumer.microbatch});
        it != received.end()) {
      start = std::max(start, it->second->start);
      end = it->second->end;
    } else {
      const auto [r, k] = run.traced_of[h.consumer];
      const TracedOp& op = ranks[static_cast<std::size_t>(r)].ops[static_cast<std::size_t>(k)];
      if (op.input_end >= 0) start = std::max(start, op.input_start), end = op.input_end;
    }
    (end >= 0 ? timed : untimed) += 1;
    run.transfer_measured[u - t.compute_ops()] = end >= 0;
    tl.start[u] = start;
    tl.end[u] = std::max(start, end);
  }
  if (untimed > 0)
    run.notes.push_back(std::to_string(untimed) + " of " + std::to_string(timed + untimed) +
                        " transfers have no receive kernel in the trace: they are taken as instantaneous at their "
                        "producer's end");
  infer_causes(run.dag, tl);
  return run;
}

}  // namespace ppsim::trace
