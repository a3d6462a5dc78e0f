// Engine invariants: every action once, dependencies respected, no overlap on a serial resource,
// Little's law, engine makespan = DAG longest path without contention, determinism, deadlocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "schedules/order_csv.h"
#include "sim/engine.h"
#include "base/error.h"
#include "sim/longest_path.h"
#include "sim_test_util.h"

namespace ppsim {
namespace {

struct Shape {
  const char* kind;
  int P, M, V;
};

const Shape kShapes[] = {{"gpipe", 4, 8, 1},  {"1f1b", 4, 8, 1},  {"1f1b", 8, 3, 1},  {"interleaved-1f1b", 4, 8, 2},
                         {"zb-h1", 4, 8, 1},  {"zb-h2", 4, 9, 1}, {"gpipe", 3, 5, 2}, {"interleaved-1f1b", 3, 6, 3},
                         {"zb-h1", 6, 13, 1}, {"zb-h2", 5, 4, 1}};

using test::random_costs;

void check_invariants(const SimulationResult& r, const std::string& what) {
  const OpTable& t = *r.dag.table;
  const Timeline& tl = r.timeline;
  // Every action exactly once.
  std::set<std::tuple<int, int, int>> seen;
  for (OpId v = 0; v < t.compute_ops(); ++v) {
    const Op& op = t.ops[v];
    EXPECT_TRUE(seen.insert({static_cast<int>(op.kind), op.stage, op.microbatch}).second) << what;
    EXPECT_EQ(tl.end[v] - tl.start[v], op.duration) << what;
  }
  EXPECT_EQ(static_cast<std::int64_t>(seen.size()), r.schedule.action_count()) << what;
  // Dependencies respected.
  for (OpId v = 0; v < t.ops.size(); ++v)
    r.dag.for_each_successor(v, [&](OpId w) { EXPECT_LE(tl.end[v], tl.start[w]) << what; });
  // No overlap on any serial resource (ranks and links).
  std::map<int, std::vector<std::pair<TimeNs, TimeNs>>> by_resource;
  for (OpId v = 0; v < t.ops.size(); ++v) by_resource[t.ops[v].resource].push_back({tl.start[v], tl.end[v]});
  for (auto& [res, spans] : by_resource) {
    std::sort(spans.begin(), spans.end());
    for (std::size_t i = 1; i < spans.size(); ++i) EXPECT_LE(spans[i - 1].second, spans[i].first) << what << " resource " << res;
  }
  // Program order on each rank.
  for (int rk = 0; rk < t.ranks; ++rk)
    for (OpId v = t.rank_begin[rk] + 1; v < t.rank_begin[rk + 1]; ++v) EXPECT_LE(tl.end[v - 1], tl.start[v]) << what;
  // Little's law per rank: the time average from the sweep equals lambda * W from residences.
  for (const auto& rm : r.metrics.ranks) {
    EXPECT_EQ(rm.items, static_cast<std::int64_t>(t.microbatches) * t.chunks) << what;
    EXPECT_NEAR(rm.mean_in_flight, rm.arrival_rate_per_s * rm.mean_residence_ns * 1e-9, 1e-9 * rm.mean_in_flight + 1e-12) << what;
    EXPECT_LE(rm.mean_in_flight, rm.peak_in_flight) << what;
    // Idle breakdown adds up to makespan - busy.
    EXPECT_EQ(rm.idle_leading_ns + rm.idle_trailing_ns + rm.idle_waiting_activation_ns + rm.idle_waiting_gradient_ns +
                  rm.idle_other_ns,
              r.metrics.makespan_ns - rm.busy_ns)
        << what;
  }
  // The critical path ends at the makespan and is gap-free from time zero.
  TimeNs path = 0;
  for (OpId v : r.metrics.critical_path.ops) path += tl.end[v] - tl.start[v];
  EXPECT_EQ(path, r.metrics.makespan_ns) << what;
}

TEST(Engine, InvariantsOnEveryKindWithUnevenCostsAndTransfers) {
  unsigned seed = 1;
  for (const auto& sh : kShapes)
    for (TimeNs transfer_max : {TimeNs{0}, TimeNs{300}, TimeNs{20000}}) {
      Schedule s = generate_schedule(sh.kind, {sh.P, sh.M, sh.V});
      auto r = run_simulation(std::move(s), random_costs(sh.P * sh.V, seed++, transfer_max));
      check_invariants(r, std::string(sh.kind) + " transfer<=" + std::to_string(transfer_max));
    }
}

// Without link contention the engine's makespan is the DAG's longest path; with contention it
// can only be longer.
TEST(Engine, MakespanEqualsLongestPathWithoutContention) {
  unsigned seed = 100;
  int equal_cases = 0;
  for (const auto& sh : kShapes)
    for (TimeNs transfer_max : {TimeNs{0}, TimeNs{300}, TimeNs{20000}}) {
      Schedule s = generate_schedule(sh.kind, {sh.P, sh.M, sh.V});
      auto r = run_simulation(std::move(s), random_costs(sh.P * sh.V, seed++, transfer_max));
      std::int64_t queued = 0;
      for (const auto& l : r.metrics.links) queued += l.queued_transfers;
      const TimeNs lp = dag_longest_path(r.dag);
      if (queued == 0) {
        EXPECT_EQ(r.metrics.makespan_ns, lp) << sh.kind;
        ++equal_cases;
      } else {
        EXPECT_GE(r.metrics.makespan_ns, lp) << sh.kind;
      }
    }
  EXPECT_GT(equal_cases, 10);
}

TEST(Engine, LinkContentionSerialisesTransfers) {
  // GPipe with transfers much longer than compute: every hop queues on its link.
  auto r = test::simulate_uniform("gpipe", 2, 4, 1, 100, 100, 100, 1000);
  // Forwards leave rank 0 at 100, 200, 300, 400 but the link carries one at a time:
  // arrivals at 1100, 2100, 3100, 4100. Rank 1 runs F3 at 4100..4200, then its fused
  // backwards (200 each) until 5000.
  ASSERT_EQ(r.metrics.links.size(), 2u);
  for (const auto& l : r.metrics.links) EXPECT_EQ(l.queued_transfers, 3);
  EXPECT_GT(r.metrics.makespan_ns, dag_longest_path(r.dag));
  // Gradients leave rank 1 at 4400, 4600, 4800, 5000 and arrive serially at 5400, 6400, 7400,
  // 8400; rank 0's last fused backward (200) ends at 8600.
  EXPECT_EQ(r.metrics.makespan_ns, 8600);
}

TEST(Engine, DeterministicBitForBit) {
  Schedule s = generate_schedule("zb-h1", {6, 20, 1});
  auto a = run_simulation(s, random_costs(6, 7, 4000));
  auto b = run_simulation(s, random_costs(6, 7, 4000));
  EXPECT_EQ(a.timeline.start, b.timeline.start);
  EXPECT_EQ(a.timeline.end, b.timeline.end);
}

// Each op's start and cause recomputed from the finished timeline alone, by the definition: an op
// that is not a transfer starts when its last input ends; its cause is, among the inputs that end
// then, the last one on its own resource (rank or channel), else the one with the smallest id. A transfer starts when its
// producer ends or its link frees, whichever is later. The replay's order of visiting ranks must
// not show through. Uniform times and zero-time transfers make ties everywhere.
TEST(Engine, StartsAndCausesFollowFromTheInputsAlone) {
  struct Run {
    std::string what;
    SimulationResult r;
  };
  std::vector<Run> runs;
  unsigned seed = 300;
  for (const auto& sh : kShapes)
    for (int uniform = 0; uniform < 2; ++uniform) {
      Schedule s = generate_schedule(sh.kind, {sh.P, sh.M, sh.V});
      const OpCosts costs = uniform ? uniform_costs(sh.P * sh.V, 100, 100, 100, 0) : random_costs(sh.P * sh.V, seed++, 300);
      runs.push_back({sh.kind, run_simulation(std::move(s), costs)});
    }
  // Where an op has several inputs besides its rank's order: DualPipe's F&B units (an activation
  // and the backward half's gradient) and a training step (collectives, ZeRO-3 gathers).
  for (const char* kind : {"dualpipe", "dualpipe-v"}) {
    Schedule s = generate_schedule(kind, {4, 8, 2});
    runs.push_back({kind, run_simulation(std::move(s), uniform_costs(8, 100, 100, 100, 0))});
  }
  {
    Schedule s = generate_schedule("1f1b", {4, 8, 1});
    TrainingStepCosts step;
    step.grad_reduce.assign(4, 100);
    step.param_gather_before_pass.assign(4, 100);
    step.param_gather_after_step.assign(4, 100);
    step.reduce_every_backward = true;
    step.optimizer.assign(4, 100);
    runs.push_back({"1f1b with a ZeRO-3 step", run_simulation(std::move(s), uniform_costs(4, 100, 100, 100, 0), {}, step)});
  }
  int ties = 0, ties_without_order = 0;
  for (const Run& run : runs) {
    const SimulationResult& r = run.r;
    const OpTable& t = *r.dag.table;
    const Timeline& tl = r.timeline;
    std::vector<std::vector<OpId>> inputs(t.ops.size());
    for (OpId u = 0; u < t.ops.size(); ++u) r.dag.for_each_successor(u, [&](OpId w) { inputs[w].push_back(u); });
    for (OpId w = 0; w < t.ops.size(); ++w) {
      const std::string what = run.what + ": " + describe_op(t, w);
      if (t.ops[w].is_transfer) {
        ASSERT_EQ(inputs[w].size(), 1u) << what;
        EXPECT_GE(tl.start[w], tl.end[inputs[w][0]]) << what;
        if (tl.cause[w] != inputs[w][0]) {
          // Only a busy link credits another transfer: the one before it on the link, ending then.
          ASSERT_NE(tl.cause[w], kNoOp) << what;
          EXPECT_TRUE(t.ops[tl.cause[w]].is_transfer) << what;
          EXPECT_EQ(t.ops[tl.cause[w]].resource, t.ops[w].resource) << what;
          EXPECT_EQ(tl.end[tl.cause[w]], tl.start[w]) << what;
        }
        continue;
      }
      TimeNs latest = 0;
      for (OpId u : inputs[w]) latest = std::max(latest, tl.end[u]);
      EXPECT_EQ(tl.start[w], latest) << what;
      OpId own = kNoOp, smallest = kNoOp;  // the latest tied input on w's resource; the smallest other
      int ending_then = 0;
      for (OpId u : inputs[w]) {
        if (tl.end[u] != latest) continue;
        ++ending_then;
        if (t.ops[u].resource == t.ops[w].resource) own = own == kNoOp ? u : std::max(own, u);
        else smallest = std::min(smallest, u);
      }
      ties += ending_then > 1;
      ties_without_order += ending_then > 1 && own == kNoOp;
      EXPECT_EQ(tl.cause[w], own != kNoOp ? own : smallest) << what;
    }
  }
  EXPECT_GT(ties, 100);             // the own resource's precedence was exercised
  EXPECT_GT(ties_without_order, 0);  // and the smaller id's
}

TEST(Engine, DeadlockIsReportedWithWaitingOps) {
  // Rank 0 waits for the gradient of micro-batch 0 before sending micro-batch 1 forward, while
  // rank 1 waits for micro-batch 1's forward before sending that gradient.
  Schedule s = read_order_csv("0F0,0B0,0F1,0B1\n1F0,1F1,1B0,1B1\n", "cycle.csv", 2, 2, 1);
  const Dag dag = build_dag(s, uniform_costs(2, 1, 1, 1, 0));
  // The engine and the standalone check report the same thing.
  std::string from_check;
  try {
    check_acyclic(dag);
  } catch (const DeadlockError& e) {
    from_check = e.what();
  }
  try {
    simulate(dag);
    FAIL() << "no deadlock reported";
  } catch (const DeadlockError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg, from_check);
    EXPECT_NE(msg.find("deadlock"), std::string::npos) << msg;
    EXPECT_NE(msg.find("rank 0 is blocked at step 1 (0B0 on rank 0), waiting for 1B0 on rank 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("rank 1 is blocked at step 1 (1F1 on rank 1), waiting for 0F1 on rank 0"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace ppsim

namespace ppsim {
namespace {

// Found by fuzzing (tests/fuzz/regressions/): op times whose sum the int64 ns clock cannot hold
// are refused with a clear error before the engine runs, not left to overflow.
TEST(Engine, OpTimesBeyondTheClockAreRefused) {
  const TimeNs huge = TimeNs{1} << 60;
  try {
    build_dag(generate_schedule("1f1b", {4, 7, 1}), uniform_costs(4, 10, 10, huge, 0));
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("more than a simulation's clock holds"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(build_dag(generate_schedule("1f1b", {4, 7, 1}), uniform_costs(4, 10, 10, TimeNs{1} << 50, 0)));
}

}  // namespace
}  // namespace ppsim
