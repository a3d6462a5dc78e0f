#pragma once
// Every candidate simulated through the same path as `ppsim simulate` (run_model_simulation over
// layout_schedule and build_model_costs), on threads, with the cost models cached: candidates that
// differ only in their schedule's order or in M share one (same placement of stages on ranks,
// micro-batch size, tensor / sequence / data parallelism, ZeRO and recompute).
#include <cstdint>
#include <functional>
#include <vector>

#include "plan/candidate.h"
#include "plan/enumerate.h"
#include "plan/plan_config.h"
#include "base/time.h"

namespace ppsim {

// What one simulated candidate gives (all from the simulation's metrics and model metrics).
struct CandidateResult {
  Candidate config;
  TimeNs iteration_time_ns = 0;  // one training step: pipeline + exposed data-parallel + optimizer
  TimeNs makespan_ns = 0;        // the pipeline
  TimeNs largest_busy_ns = 0;    // the busiest rank's compute (F, B, W incl. recompute and TP collectives)
  TimeNs exposed_data_parallel_ns = 0, exposed_optimizer_ns = 0;
  double tokens_per_s = 0, mfu = 0, hfu = 0;
  double bubble_fraction = 0;
  std::int64_t peak_memory_bytes = 0;  // the largest rank's
  bool fits = false;                   // peak_memory_bytes <= the plan's memory_limit
};

struct EvaluateOptions {
  int threads = 1;
  // Called about every 0.1 s from the calling thread while the workers run (done, total).
  std::function<void(std::size_t, std::size_t)> progress;
};

struct Evaluation {
  std::vector<CandidateResult> results;  // in enumeration order (by config.id)
  SkipCounts skipped;                    // skips found while building a candidate's schedule or costs
  std::int64_t cost_models_built = 0;    // distinct cost models (the cache's misses)
};

// Simulates every candidate. The results do not depend on the thread count.
Evaluation evaluate_candidates(const PlanConfig& plan, const std::vector<Candidate>& candidates,
                               const EvaluateOptions& options = {});

}  // namespace ppsim
