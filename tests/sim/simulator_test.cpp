// The reusable Simulator (sim/simulator.h) against run_simulation with fresh memory, over a
// sequence of runs that grow, shrink and change kind, and edge_kind against what each edge must
// connect by the schedule's semantics.
#include <gtest/gtest.h>


#include "base/error.h"
#include "sim/dataflow.h"
#include "sim/engine.h"
#include "sim/simulator.h"
#include "sim_test_util.h"

namespace ppsim {
namespace {

struct Case {
  const char* kind;
  int P, M, V;
  bool training_step;
};

// Large, then smaller, then larger again, other kinds between: buffers shrink and grow.
const Case kSequence[] = {{"zb-h1", 6, 16, 1, false},        {"1f1b", 2, 3, 1, false},      {"dualpipe", 4, 8, 2, false},
                          {"interleaved-1f1b", 4, 8, 2, true}, {"gpipe", 3, 2, 1, true},     {"zb-v", 4, 8, 2, false},
                          {"zb-h2", 8, 24, 1, true},           {"dualpipe-v", 4, 8, 2, true}, {"1f1b", 1, 1, 1, false}};

// A ZeRO-3 style step: reductions after every backward, gathers before every pass and after the
// optimizer, so every kind of step edge exists.
TrainingStepCosts step_costs(int S, int P) {
  TrainingStepCosts step;
  for (int s = 0; s < S; ++s) {
    step.grad_reduce.push_back(700 + 10 * s);
    step.param_gather_after_step.push_back(300);
    step.param_gather_before_pass.push_back(200 + s);
  }
  step.reduce_every_backward = true;
  for (int r = 0; r < P; ++r) step.optimizer.push_back(900 + r);
  return step;
}

void expect_same_metrics(const Metrics& a, const Metrics& b, const std::string& what) {
  EXPECT_EQ(a.makespan_ns, b.makespan_ns) << what;
  EXPECT_EQ(a.iteration_ns, b.iteration_ns) << what;
  EXPECT_EQ(a.bubble_fraction, b.bubble_fraction) << what;
  EXPECT_EQ(a.exposed_data_parallel_ns, b.exposed_data_parallel_ns) << what;
  EXPECT_EQ(a.critical_path.ops, b.critical_path.ops) << what;
  ASSERT_EQ(a.ranks.size(), b.ranks.size()) << what;
  for (std::size_t r = 0; r < a.ranks.size(); ++r) {
    EXPECT_EQ(a.ranks[r].busy_ns, b.ranks[r].busy_ns) << what;
    EXPECT_EQ(a.ranks[r].idle_waiting_gradient_ns, b.ranks[r].idle_waiting_gradient_ns) << what;
    EXPECT_EQ(a.ranks[r].peak_in_flight, b.ranks[r].peak_in_flight) << what;
    EXPECT_EQ(a.ranks[r].mean_in_flight, b.ranks[r].mean_in_flight) << what;
    EXPECT_EQ(a.ranks[r].step_end_ns, b.ranks[r].step_end_ns) << what;
  }
  ASSERT_EQ(a.links.size(), b.links.size()) << what;
  for (std::size_t l = 0; l < a.links.size(); ++l) {
    EXPECT_EQ(a.links[l].transfers, b.links[l].transfers) << what;
    EXPECT_EQ(a.links[l].queued_transfers, b.links[l].queued_transfers) << what;
  }
}

TEST(Simulator, ReusedMemoryGivesWhatFreshMemoryGives) {
  Simulator sim;
  EXPECT_THROW(sim.rerun(std::vector<TimeNs>(3, 1)), std::logic_error);  // nothing built yet
  unsigned seed = 7;
  for (const Case& c : kSequence) {
    const std::string what = std::string(c.kind) + " P=" + std::to_string(c.P) + " M=" + std::to_string(c.M);
    Schedule s = generate_schedule(c.kind, {c.P, c.M, c.V});
    const OpCosts costs = test::random_costs(s.stages(), seed++, 3000);
    const TrainingStepCosts step = c.training_step ? step_costs(s.stages(), c.P) : TrainingStepCosts{};
    const Metrics& reused = sim.run(s, costs, {}, step);
    const SimulationResult fresh = run_simulation(s, costs, {}, step);
    ASSERT_EQ(sim.dag().table->ops.size(), fresh.dag.table->ops.size()) << what;
    EXPECT_EQ(sim.dag().graph.m_forward.m_rowstart, fresh.dag.graph.m_forward.m_rowstart) << what;
    EXPECT_EQ(sim.dag().graph.m_forward.m_column, fresh.dag.graph.m_forward.m_column) << what;
    EXPECT_EQ(sim.dag().table->resources.size(), fresh.dag.table->resources.size()) << what;
    EXPECT_EQ(sim.timeline().start, fresh.timeline.start) << what;
    EXPECT_EQ(sim.timeline().end, fresh.timeline.end) << what;
    EXPECT_EQ(sim.timeline().cause, fresh.timeline.cause) << what;
    expect_same_metrics(reused, fresh.metrics, what);
    EXPECT_EQ(fresh.metrics.has_training_step, c.training_step) << what;

    // A re-timed replay of the same DAG equals a fresh replay with those durations.
    std::vector<TimeNs> durations;
    for (const Op& op : fresh.dag.table->ops) durations.push_back(op.duration * 3 / 2 + 1);
    const Metrics& rerun = sim.rerun(durations);
    const Timeline retimed = simulate(fresh.dag, durations);
    EXPECT_EQ(sim.timeline().start, retimed.start) << what;
    EXPECT_EQ(sim.timeline().cause, retimed.cause) << what;
    expect_same_metrics(rerun, compute_metrics(retimed), what);
    EXPECT_GT(rerun.makespan_ns, fresh.metrics.makespan_ns) << what;
  }
  EXPECT_THROW(sim.rerun(std::vector<TimeNs>(3, 1)), std::invalid_argument);
}

// A failed build leaves nothing to replay, and the next run starts clean.
TEST(Simulator, AFailedBuildIsNotReplayed) {
  Simulator sim;
  const Schedule s = generate_schedule("1f1b", {2, 4, 1});
  const TimeNs huge = TimeNs{1} << 60;  // the op times add up past the clock's 2^62 ns
  EXPECT_THROW(sim.run(s, uniform_costs(2, huge, huge, huge, 0)), InputError);
  EXPECT_THROW(sim.rerun(std::vector<TimeNs>(3, 1)), std::logic_error);
  const Metrics& m = sim.run(s, uniform_costs(2, 100, 100, 100, 0));
  EXPECT_EQ(m.makespan_ns, run_simulation(s, uniform_costs(2, 100, 100, 100, 0)).metrics.makespan_ns);
  EXPECT_EQ(m.makespan_ns, (4 + 2 - 1) * 300);  // (M + P - 1)(F + B) for 1F1B, no transfers
}

// The kind of each edge, derived from its two ops, must be what the edge means in the schedule.
TEST(Simulator, EdgeKindsMatchWhatEachEdgeConnects) {
  for (const Case& c : kSequence) {
    const std::string what = std::string(c.kind) + " P=" + std::to_string(c.P);
    const Schedule s = generate_schedule(c.kind, {c.P, c.M, c.V});
    const TrainingStepCosts step = c.training_step ? step_costs(s.stages(), c.P) : TrainingStepCosts{};
    const Dag dag = build_dag(s, test::random_costs(s.stages(), 1, 3000), step);
    const OpTable& t = *dag.table;
    std::int64_t activations = 0, gradients = 0, joins = 0;
    for (OpId u = 0; u < t.ops.size(); ++u)
      for (auto e : boost::make_iterator_range(boost::out_edges(u, dag.graph))) {
        const OpId w = boost::target(e, dag.graph);
        const Op& a = t.ops[u];
        const Op& b = t.ops[w];
        switch (edge_kind(t, u, w)) {
          case EdgeKind::Step:
            EXPECT_TRUE(t.is_step(u) || t.is_step(w)) << what;
            break;
          case EdgeKind::Join:  // a gradient's transfer into the overlapped unit before its consumer
            ++joins;
            EXPECT_TRUE(a.is_transfer && b.overlapped && b.kind == ActionKind::F) << what;
            EXPECT_EQ(t.resources[a.resource].dst, b.resource) << what;
            break;
          case EdgeKind::Stash:
            EXPECT_EQ(a.stage, b.stage) << what;
            EXPECT_EQ(a.microbatch, b.microbatch) << what;
            EXPECT_TRUE((a.kind == ActionKind::F && (b.kind == ActionKind::B || b.kind == ActionKind::BW)) ||
                        (a.kind == ActionKind::B && b.kind == ActionKind::W))
                << what;
            break;
          case EdgeKind::Activation:
          case EdgeKind::Gradient: {
            const bool activation = edge_kind(t, u, w) == EdgeKind::Activation;
            if (a.is_transfer) continue;  // counted at the producer's edge
            (activation ? activations : gradients) += 1;
            EXPECT_EQ(a.kind == ActionKind::F, activation) << what;
            EXPECT_EQ(b.kind == ActionKind::F, activation) << what;  // a transfer carries F or B
            if (!b.is_transfer) {
              EXPECT_EQ(b.stage, a.stage + (activation ? 1 : -1)) << what;
            }
            break;
          }
        }
      }
    // One activation and one gradient hand-off per boundary a micro-batch crosses.
    std::int64_t crossings = 0;
    for (int m = 0; m < s.microbatches; ++m) crossings += s.end_stage(m) - s.first_stage(m) - 1;
    EXPECT_EQ(activations, crossings) << what;
    EXPECT_EQ(gradients, crossings) << what;
    // The measure runners read the same hand-offs off the DAG.
    const Dataflow flow(dag);
    std::int64_t handoffs = 0;
    for (OpId v = 0; v < t.compute_ops(); ++v) handoffs += static_cast<std::int64_t>(flow.outputs(v).size());
    EXPECT_EQ(handoffs, 2 * crossings) << what;
    const bool overlaps = std::string(c.kind) == "dualpipe" || std::string(c.kind) == "dualpipe-v";
    if (overlaps) {
      EXPECT_GT(joins, 0) << what;  // DualPipe's F&B units wait for their backward's gradient
    } else {
      EXPECT_EQ(joins, 0) << what;
    }
  }
}

}  // namespace
}  // namespace ppsim
