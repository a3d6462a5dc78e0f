// The CPU runner reads its waits off the DAG (sim/dataflow.h), as the engine does: replayed on a
// virtual clock (its threads and messages real, every op taking its DAG duration, its links first
// come first served), every shipped schedule runs each op and transfer at exactly the time the
// engine gives it.
#include <gtest/gtest.h>

#include "measure/cpu/cpu_pipeline_runner.h"
#include "models/model_loader.h"
#include "schedules/registry.h"
#include "sim/dag.h"
#include "sim/engine.h"

namespace ppsim {
namespace {

// A shape each kind accepts (P, M, V).
ScheduleParams shape_for(const std::string& kind) {
  if (kind == "zb-v" || kind == "dualpipe-v" || kind == "dualpipe" || kind == "v-half" || kind == "v-min") return {4, 8, 2};
  if (kind == "interleaved-1f1b" || kind == "interleaved-zb" || kind == "looped-bfs" || kind == "gpipe") return {2, 6, 2};
  return {4, 8, 1};
}

TEST(RunnerVsEngine, EveryShippedScheduleRunsOpsWhenTheEngineSays) {
  const ModelSpec spec = load_model("tiny");
  for (const auto& k : schedule_kinds()) {
    SCOPED_TRACE(k.name);
    const ScheduleParams p = shape_for(k.name);
    const Schedule s = generate_schedule(k.name, p);
    OpCosts costs = uniform_costs(s.stages(), 3000, 2000, 1000, 2500);  // hops longer than some ops: links queue
    const Dag dag = build_dag(s, costs);
    const Timeline engine = simulate(dag);
    Partition part;
    part.layers_per_stage.assign(s.stages() / s.copies(), 1);
    cpu::CpuPipeline runner(s, dag, spec, part, 1, 8, 1);
    MeasureOptions o;
    o.iterations = 1;
    o.warmup = 0;
    o.virtual_clock = true;
    o.pin_threads = false;
    const MeasuredRun run = runner.run(o);
    ASSERT_EQ(run.timeline.start.size(), engine.start.size());
    for (OpId v = 0; v < engine.start.size(); ++v) {
      EXPECT_EQ(run.timeline.start[v], engine.start[v]) << describe_op(*dag.table, v);
      EXPECT_EQ(run.timeline.end[v], engine.end[v]) << describe_op(*dag.table, v);
    }
  }
}

}  // namespace
}  // namespace ppsim
