// Google Benchmarks of the simulation hot paths. The target: ZB-H1 with P = 128 and
// M = 4096 (about 2.6 million ops with transfers) end to end in under 0.5 s on one core.
#include <benchmark/benchmark.h>

#include <string>

#include "bench/allocation_counter.h"

#include "schedules/registry.h"
#include "sim/dag.h"
#include "sim/engine.h"
#include "sim/event_queue.h"
#include "sim/metrics.h"
#include "sim/op_costs.h"
#include "sim/simulation.h"
#include "sim/simulator.h"
#include "sim/zb_auto.h"

namespace ppsim {
namespace {

OpCosts costs_for(int stages) { return uniform_costs(stages, 1'200'000, 1'100'000, 600'000, 50'000); }

void set_ops(benchmark::State& state, std::int64_t ops) {
  state.counters["ops"] = static_cast<double>(ops);
  state.counters["ops_per_s"] = benchmark::Counter(static_cast<double>(ops), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_GenerateZbH1(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  std::int64_t actions = 0;
  for (auto _ : state) {
    Schedule s = generate_zb_h1({P, M, 1});
    actions = s.action_count();
    benchmark::DoNotOptimize(s);
  }
  set_ops(state, actions);
}
BENCHMARK(BM_GenerateZbH1)->Args({128, 4096})->Unit(benchmark::kMillisecond);

void BM_BuildDag(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  const Schedule s = generate_zb_h1({P, M, 1});
  const OpCosts c = costs_for(P);
  std::int64_t ops = 0;
  for (auto _ : state) {
    Dag d = build_dag(s, c);
    ops = static_cast<std::int64_t>(d.table->ops.size());
    benchmark::DoNotOptimize(d);
  }
  set_ops(state, ops);
}
BENCHMARK(BM_BuildDag)->Args({128, 4096})->Unit(benchmark::kMillisecond);

void BM_Engine(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  const Dag d = build_dag(generate_zb_h1({P, M, 1}), costs_for(P));
  for (auto _ : state) {
    Timeline t = simulate(d);
    benchmark::DoNotOptimize(t);
  }
  set_ops(state, static_cast<std::int64_t>(d.table->ops.size()));
}
BENCHMARK(BM_Engine)->Args({128, 4096})->Args({1024, 4096})->Args({8, 64})->Unit(benchmark::kMillisecond);

void BM_Metrics(benchmark::State& state) {
  const Dag d = build_dag(generate_zb_h1({128, 4096, 1}), costs_for(128));
  const Timeline t = simulate(d);
  for (auto _ : state) {
    Metrics m = compute_metrics(t);
    benchmark::DoNotOptimize(m);
  }
  set_ops(state, static_cast<std::int64_t>(d.table->ops.size()));
}
BENCHMARK(BM_Metrics)->Unit(benchmark::kMillisecond);

// End to end in-process: generate, build, simulate, metrics (the CLI adds parsing and printing).
void BM_EndToEndZbH1(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  std::int64_t ops = 0;
  for (auto _ : state) {
    Schedule s = generate_zb_h1({P, M, 1});
    Dag d = build_dag(s, costs_for(P));
    Timeline t = simulate(d);
    Metrics m = compute_metrics(t);
    ops = static_cast<std::int64_t>(d.table->ops.size());
    benchmark::DoNotOptimize(m);
  }
  set_ops(state, ops);
}
BENCHMARK(BM_EndToEndZbH1)->Args({128, 4096})->Args({64, 1024})->Unit(benchmark::kMillisecond);

// Heap allocations per iteration since the last bench::reset_allocation_stats().
void set_allocations_per_call(benchmark::State& state) {
  state.counters["allocs_per_call"] = static_cast<double>(bench::allocation_stats().allocations) /
                                      static_cast<double>(state.iterations());
}

// Issue 13, target 1: what `ppsim simulate CONFIG -q` does, in process: parse the config, generate
// and validate the schedule, build the DAG, replay it and measure it (the process adds start-up and
// the kernel's page faults on fresh memory; docs/performance.md gives both figures).
void BM_SimulateConfig(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  const std::string text = "schedule: zb-h1\nstages: " + std::to_string(P) + "\nmicrobatches: " + std::to_string(M) +
                           "\ntimes:\n  forward: 1.2ms\n  backward_input: 1.1ms\n  backward_weight: 0.6ms\n"
                           "  transfer: 50us\n";
  std::int64_t ops = 0;
  for (auto _ : state) {
    const SimulationResult r = run_simulation(parse_config(text, "bench", "."));
    ops = static_cast<std::int64_t>(r.dag.table->ops.size());
    benchmark::DoNotOptimize(r.metrics.makespan_ns);
  }
  set_ops(state, ops);
}
BENCHMARK(BM_SimulateConfig)->Args({128, 4096})->Unit(benchmark::kMillisecond);

// Issue 13, target 4: what `plan` and jitter replays do thousands of times. A small pipeline
// (P = 8, M = 64 ZB-H1: 1,536 compute ops + 896 transfers) simulated in process by a reused
// Simulator: DAG build, replay and metrics. Target: under 20 us per call and no heap allocation per
// call after the first. `allocs_per_call` counts operator new calls after the first call.
void BM_SmallPipelineInProcess(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  const OpCosts costs = costs_for(P);
  const Schedule s = generate_zb_h1({P, M, 1});
  Simulator sim;
  sim.run(s, costs);
  bench::reset_allocation_stats();
  for (auto _ : state) benchmark::DoNotOptimize(sim.run(s, costs).makespan_ns);
  set_ops(state, static_cast<std::int64_t>(sim.dag().table->ops.size()));
  set_allocations_per_call(state);
}
BENCHMARK(BM_SmallPipelineInProcess)->Args({8, 64})->Unit(benchmark::kMicrosecond);

// The same with the schedule generated on every call too (a plan's candidate): the generators
// return a fresh Schedule, so this one allocates the per-rank orders.
void BM_SmallPipelineWithGeneration(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  const OpCosts costs = costs_for(P);
  Simulator sim;
  sim.run(generate_zb_h1({P, M, 1}), costs);
  bench::reset_allocation_stats();
  for (auto _ : state) benchmark::DoNotOptimize(sim.run(generate_zb_h1({P, M, 1}), costs).makespan_ns);
  set_ops(state, static_cast<std::int64_t>(sim.dag().table->ops.size()));
  set_allocations_per_call(state);
}
BENCHMARK(BM_SmallPipelineWithGeneration)->Args({8, 64})->Unit(benchmark::kMicrosecond);

// A jitter replay: the same DAG re-timed and measured (Simulator::rerun).
void BM_SmallPipelineRerun(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  Simulator sim;
  sim.run(generate_zb_h1({P, M, 1}), costs_for(P));
  std::vector<TimeNs> durations;
  for (const Op& op : sim.dag().table->ops) durations.push_back(op.duration + 1);
  sim.rerun(durations);
  bench::reset_allocation_stats();
  for (auto _ : state) benchmark::DoNotOptimize(sim.rerun(durations).makespan_ns);
  set_ops(state, static_cast<std::int64_t>(durations.size()));
  set_allocations_per_call(state);
}
BENCHMARK(BM_SmallPipelineRerun)->Args({8, 64})->Unit(benchmark::kMicrosecond);

// Issue 13, targets 2 and 3: how the cost grows with P and with M, and the peak heap bytes per op
// of the in-process pipeline (schedule, DAG, timeline, metrics alive together, as in `simulate`).
// The scaling exponent is the slope of log(time) against log(ops) over these rows. One iteration
// each: the largest row holds 21 M ops.
void BM_ScalingZbH1(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  std::int64_t ops = 0, peak = 0;
  for (auto _ : state) {
    bench::reset_allocation_stats();
    const std::int64_t before = bench::allocation_stats().live_bytes;
    Schedule s = generate_zb_h1({P, M, 1});
    Dag d = build_dag(s, costs_for(P));
    Timeline t = simulate(d);
    Metrics m = compute_metrics(t);
    ops = static_cast<std::int64_t>(d.table->ops.size());
    peak = bench::allocation_stats().peak_bytes - before;
    benchmark::DoNotOptimize(m);
  }
  set_ops(state, ops);
  state.counters["peak_bytes_per_op"] = static_cast<double>(peak) / static_cast<double>(ops);
}
BENCHMARK(BM_ScalingZbH1)
    ->Args({64, 4096})->Args({128, 4096})->Args({256, 4096})->Args({512, 4096})->Args({1024, 4096})
    ->Args({128, 1024})->Args({128, 16384})
    ->Iterations(1)->Unit(benchmark::kMillisecond);

// zb-auto's search (8 heuristic runs, ZB-H1 and ZB-H2, each simulated) at the zero-bubble paper's
// largest shape: 28.3B model, P = 32, M = 256, its profiled times and memory model, ZB-2p's limit.
// Target: under 1 s.
void BM_SearchZbAuto(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  const OpCosts costs = uniform_costs(P, 10'402'000, 10'248'000, 7'698'000, 460'000);
  const double w = 32.0 * 6144 / (34.0 * 6144 + 5.0 * 48 * 1024);
  for (auto _ : state) {
    ZbAutoResult r = search_zb_auto(P, M, 2 * P, w, costs);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_SearchZbAuto)->Args({32, 256})->Unit(benchmark::kMillisecond);

// The event queues alone, at depths the engine sees (about one event per busy resource).
template <class Queue>
void BM_Queue(benchmark::State& state) {
  const int depth = static_cast<int>(state.range(0));
  Queue q;
  for (int i = 0; i < depth; ++i) q.push(i * 7 % 1000, static_cast<OpId>(i));
  for (auto _ : state) {
    const Event e = q.pop();
    q.push(e.time + 1000 + (e.op * 13) % 500, e.op);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Queue<EventQueue>)->Arg(16)->Arg(512);
BENCHMARK(BM_Queue<BinaryHeapEventQueue>)->Arg(16)->Arg(512);

}  // namespace
}  // namespace ppsim
