// `ppsim plan`'s search (issue 14): target at least 10,000 simulated configurations in 5 s on this
// 2-core machine, in process, on threads. Llama-3 8B on 64 H100s, a global batch of 256 sequences
// of 4096 tokens, every schedule, split, chunk count (1-8), recompute policy, micro-batch size 1 or
// 2 and ZeRO 0 or 1: 112,896 combinations, 12,684 of them simulated (docs/performance.md).
#include <benchmark/benchmark.h>

#include "plan/enumerate.h"
#include "plan/evaluate.h"
#include "plan/plan_config.h"
#include "plan/ranking.h"

namespace ppsim {
namespace {

const char* kPlan =
    "model: llama3-8b\nhardware: h100-sxm\ngpus: 64\nglobal_batch_size: 256\nsequence_length: 4096\n"
    "search:\n  micro_batch_size: [1, 2]\n  zero: [0, 1]\n";

// The whole search as `ppsim plan` runs it, reports aside: parse, enumerate, simulate every
// candidate (cost models built and cached inside, as in the command), rank.
void BM_PlanSearch(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  std::int64_t evaluated = 0;
  for (auto _ : state) {
    const PlanConfig plan = parse_plan_config(kPlan, "bench-plan.yaml", ".");
    const Enumeration e = enumerate_candidates(plan);
    const PlanOutcome o = rank_candidates(e, evaluate_candidates(plan, e.candidates, {threads, {}}));
    evaluated = o.evaluated;
    benchmark::DoNotOptimize(o.ranked.data());
  }
  state.counters["configurations"] = static_cast<double>(evaluated);
  state.counters["configurations_per_s"] =
      benchmark::Counter(static_cast<double>(evaluated) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlanSearch)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);

}  // namespace
}  // namespace ppsim
