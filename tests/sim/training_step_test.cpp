// The training step after the pipeline (issue 12): data-parallel collectives on each rank's own
// channel and the optimizer on its compute stream, as DAG ops, against timelines worked by hand.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "schedules/registry.h"
#include "sim/engine.h"
#include "sim/longest_path.h"
#include "sim/metrics.h"
#include "sim/report/json_writer.h"
#include "sim/report/timeline_json.h"
#include "sim/simulation.h"

namespace ppsim {
namespace {

// The op of `kind` on `resource` whose stage and micro-batch match, in a timeline.
struct Span {
  TimeNs start, end;
};
Span step_op(const Timeline& tl, StepKind kind, int resource, int nth) {
  const OpTable& t = *tl.table;
  for (OpId v = t.pipeline_ops(); v < t.ops.size(); ++v)
    if (t.ops[v].step == kind && t.ops[v].resource == resource && nth-- == 0) return {tl.start[v], tl.end[v]};
  ADD_FAILURE() << "no such op";
  return {-1, -1};
}

TrainingStepCosts step_costs(int stages, int ranks, TimeNs reduce, TimeNs optimizer) {
  TrainingStepCosts s;
  s.grad_reduce.assign(stages, reduce);
  s.optimizer.assign(ranks, optimizer);
  return s;
}

// 1F1B, P = 2, M = 2, F = 10, fused backward 20, no hop time. By hand: rank 1 runs F0 [10,20],
// BW0 [20,40], F1 [40,50], BW1 [50,70]; rank 0 runs F0 [0,10], F1 [10,20], BW0 [40,60], BW1
// [70,90]. Then each rank reduces its gradients (5) and updates (3): rank 1 [70,75] + [75,78],
// rank 0 [90,95] + [95,98].
TEST(TrainingStep, OneFOneBWorkedByHand) {
  const SimulationResult r =
      run_simulation(generate_schedule("1f1b", {2, 2, 1}), uniform_costs(2, 10, 10, 10, 0), {}, step_costs(2, 2, 5, 3));
  const Metrics& m = r.metrics;
  EXPECT_EQ(m.makespan_ns, 90);
  EXPECT_EQ(m.iteration_ns, 98);
  EXPECT_EQ(m.exposed_data_parallel_ns, 5);
  EXPECT_EQ(m.exposed_optimizer_ns, 3);
  const OpTable& t = *r.timeline.table;
  EXPECT_EQ(t.step_ops, 4u);  // a reduction and an update per rank
  EXPECT_EQ(t.resources[t.ranks + 0].is_link() + t.resources[t.ranks + 1].is_link(), 2);  // the links come first
  const int dp0 = static_cast<int>(t.resources.size()) - 2, dp1 = dp0 + 1;
  EXPECT_EQ(t.resources[dp0].name, "dp 0");
  EXPECT_EQ(t.resources[dp1].data_parallel_of, 1);
  EXPECT_EQ(step_op(r.timeline, StepKind::GradReduce, dp1, 0).start, 70);
  EXPECT_EQ(step_op(r.timeline, StepKind::Optimizer, 1, 0).start, 75);
  EXPECT_EQ(step_op(r.timeline, StepKind::Optimizer, 1, 0).end, 78);
  EXPECT_EQ(step_op(r.timeline, StepKind::GradReduce, dp0, 0).start, 90);
  EXPECT_EQ(step_op(r.timeline, StepKind::Optimizer, 0, 0).end, 98);
  EXPECT_EQ(m.ranks[1].step_end_ns, 78);
  EXPECT_EQ(m.ranks[0].data_parallel_busy_ns, 5);
  EXPECT_EQ(m.ranks[0].optimizer_ns, 3);
  // The pipeline's own figures do not move.
  EXPECT_EQ(m.ranks[0].busy_ns, 60);
  EXPECT_EQ(m.ranks[0].idle_trailing_ns, 0);
  // The critical path ends with rank 0's reduction and update.
  ASSERT_GE(m.critical_path.ops.size(), 2u);
  EXPECT_EQ(t.ops[m.critical_path.ops.back()].step, StepKind::Optimizer);
  EXPECT_EQ(m.critical_path.step_ns, 8);
  EXPECT_EQ(dag_longest_path(r.dag), 98);
}

// ZeRO-2's reduce-scatter after every backward, P = 1, M = 3 (F 10, BW 20): overlapped, each runs
// as its backward ends, [30,45] [60,75] [90,105], then the update [105,108]; without overlap all
// three follow the last backward, [90,135], then [135,138].
TEST(TrainingStep, ReductionAfterEveryBackwardWithAndWithoutOverlap) {
  TrainingStepCosts step = step_costs(1, 1, 15, 3);
  step.reduce_every_backward = true;
  const Schedule s = generate_schedule("1f1b", {1, 3, 1});
  SimulationResult r = run_simulation(s, uniform_costs(1, 10, 10, 10, 0), {}, step);
  EXPECT_EQ(r.metrics.makespan_ns, 90);
  EXPECT_EQ(r.metrics.iteration_ns, 108);
  EXPECT_EQ(r.metrics.exposed_data_parallel_ns, 15);
  const int dp = static_cast<int>(r.timeline.table->resources.size()) - 1;
  EXPECT_EQ(step_op(r.timeline, StepKind::GradReduce, dp, 0).start, 30);
  EXPECT_EQ(step_op(r.timeline, StepKind::GradReduce, dp, 1).start, 60);
  EXPECT_EQ(r.metrics.ranks[0].data_parallel_busy_ns, 45);
  step.overlap = false;
  r = run_simulation(s, uniform_costs(1, 10, 10, 10, 0), {}, step);
  EXPECT_EQ(r.metrics.iteration_ns, 138);
  EXPECT_EQ(r.metrics.exposed_data_parallel_ns, 45);
  EXPECT_EQ(r.metrics.exposed_optimizer_ns, 3);
  EXPECT_EQ(step_op(r.timeline, StepKind::GradReduce, dp, 0).start, 90);
}

// Overlap across chunks: interleaved 1F1B puts two stages on each rank; the stage whose last
// backward comes first reduces under the other's remaining backward work, so overlapping never
// costs more, and saves what the earlier stage's reduction could hide.
TEST(TrainingStep, OverlapHidesTheEarlierChunksReduction) {
  const Schedule s = generate_schedule("interleaved-1f1b", {2, 4, 2});
  TrainingStepCosts step = step_costs(4, 2, 7, 2);
  const SimulationResult on = run_simulation(s, uniform_costs(4, 10, 10, 10, 0), {}, step);
  step.overlap = false;
  const SimulationResult off = run_simulation(s, uniform_costs(4, 10, 10, 10, 0), {}, step);
  EXPECT_EQ(on.metrics.makespan_ns, off.metrics.makespan_ns);
  // Without overlap every rank pays both reductions after its last op: 2 x 7 + 2.
  EXPECT_EQ(off.metrics.iteration_ns, off.metrics.makespan_ns + 14 + 2);
  // With overlap the last rank's earlier chunk reduced before its final backward ended.
  EXPECT_EQ(on.metrics.iteration_ns, on.metrics.makespan_ns + 7 + 2);
  EXPECT_EQ(on.metrics.exposed_data_parallel_ns, 7);
}

// ZeRO-3: each F and backward waits for its parameters, gathered on the data-parallel channel one
// op ahead. P = 1, M = 2, F 10, BW 20, gather 25: G(F0) [0,25], G(BW0) [25,50], F0 [25,35],
// BW0 [50,70], G(F1) [50,75] (after F0 and the channel), F1 [75,85], G(BW1) [75,100], BW1
// [100,120]; update [120,123].
TEST(TrainingStep, ZeroThreeGathersDelayThePassesThatNeedThem) {
  TrainingStepCosts step = step_costs(1, 1, 0, 3);
  step.param_gather_before_pass.assign(1, 25);
  const SimulationResult r =
      run_simulation(generate_schedule("1f1b", {1, 2, 1}), uniform_costs(1, 10, 10, 10, 0), {}, step);
  EXPECT_EQ(r.metrics.makespan_ns, 120);
  EXPECT_EQ(r.metrics.iteration_ns, 123);
  EXPECT_EQ(r.metrics.ranks[0].first_start_ns, 25);
  EXPECT_EQ(r.metrics.ranks[0].idle_waiting_parameters_ns, 15 + 5 + 15);
  EXPECT_EQ(r.metrics.ranks[0].idle_other_ns, 0);
  EXPECT_EQ(r.metrics.ranks[0].data_parallel_busy_ns, 100);
  EXPECT_EQ(dag_longest_path(r.dag), 123);
}

// ZeRO-1/2: the updated shards are all-gathered after the optimizer, one per stage.
TEST(TrainingStep, ParameterGatherAfterTheUpdate) {
  TrainingStepCosts step = step_costs(2, 2, 5, 3);
  step.param_gather_after_step.assign(2, 4);
  const SimulationResult r =
      run_simulation(generate_schedule("1f1b", {2, 2, 1}), uniform_costs(2, 10, 10, 10, 0), {}, step);
  EXPECT_EQ(r.metrics.iteration_ns, 98 + 4);
  EXPECT_EQ(r.metrics.exposed_optimizer_ns, 3);
  EXPECT_EQ(r.metrics.exposed_data_parallel_ns, 5 + 4);
}

// A report's per-op timeline keeps the step ops: read back, the step's figures are the same.
TEST(TrainingStep, TimelineJsonRoundTrip) {
  TrainingStepCosts step = step_costs(4, 2, 7, 2);
  step.param_gather_after_step.assign(4, 3);
  const SimulationResult r =
      run_simulation(generate_schedule("interleaved-1f1b", {2, 4, 2}), uniform_costs(4, 10, 10, 10, 1), {}, step);
  std::string json;
  JsonWriter w(json);
  w.begin_object();
  w.field("num_stages", 2).field("num_microbatches", 4).field("num_chunks", 2);
  write_timeline_fields(w, r.timeline);
  w.end_object();
  const std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("ppsim_step_rt_" + std::to_string(::getpid()) + ".json");
  std::ofstream(file) << json;
  const Timeline back = read_timeline_json(file.string());
  std::filesystem::remove(file);
  EXPECT_EQ(back.table->step_ops, r.timeline.table->step_ops);
  EXPECT_EQ(back.table->rank_begin, r.timeline.table->rank_begin);
  EXPECT_EQ(back.end, r.timeline.end);
  const Metrics m = compute_metrics(back);
  EXPECT_EQ(m.iteration_ns, r.metrics.iteration_ns);
  EXPECT_EQ(m.exposed_data_parallel_ns, r.metrics.exposed_data_parallel_ns);
  EXPECT_EQ(m.exposed_optimizer_ns, r.metrics.exposed_optimizer_ns);
  EXPECT_EQ(m.ranks[1].data_parallel_busy_ns, r.metrics.ranks[1].data_parallel_busy_ns);
  EXPECT_EQ(m.makespan_ns, r.metrics.makespan_ns);
}

// Without step costs nothing changes: no step ops, iteration = makespan.
TEST(TrainingStep, NoStepCostsNoStepOps) {
  const SimulationResult r = run_simulation(generate_schedule("zb-h1", {4, 8, 1}), uniform_costs(4, 10, 10, 10, 1));
  EXPECT_EQ(r.timeline.table->step_ops, 0u);
  EXPECT_FALSE(r.metrics.has_training_step);
  EXPECT_EQ(r.metrics.iteration_ns, r.metrics.makespan_ns);
  EXPECT_EQ(r.metrics.exposed_data_parallel_ns + r.metrics.exposed_optimizer_ns, 0);
}

}  // namespace
}  // namespace ppsim
