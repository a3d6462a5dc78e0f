// Jitter replays on a training schedule (issue 15): the target is ZB-H1 at P = 8, M = 64 with
// R = 1,000 lognormal replications in under 2 s on the 2-core development machine.
#include <benchmark/benchmark.h>

#include "schedules/registry.h"
#include "sim/dag.h"
#include "sim/op_costs.h"
#include "sim/replications.h"

namespace ppsim {
namespace {

void BM_JitterReplications(benchmark::State& state) {
  const int P = static_cast<int>(state.range(0)), M = static_cast<int>(state.range(1));
  const int R = static_cast<int>(state.range(2)), threads = static_cast<int>(state.range(3));
  const Dag dag = build_dag(generate_zb_h1({P, M, 1}), uniform_costs(P, 1'200'000, 1'100'000, 600'000, 50'000));
  ReplicationSpec spec;
  spec.jitter = {Distribution::Lognormal, 0.05};
  spec.replications = R;
  for (auto _ : state) benchmark::DoNotOptimize(run_replications(dag, spec, threads));
  state.counters["replications_per_s"] =
      benchmark::Counter(static_cast<double>(R), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_JitterReplications)->Args({8, 64, 1000, 1})->Args({8, 64, 1000, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace ppsim
