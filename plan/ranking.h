#pragma once
// What a plan's simulations say: the fitting candidates ranked by throughput, the Pareto front of
// throughput against peak memory (fitting or not), and why the best beats the runner-up.
#include <cstdint>
#include <string>
#include <vector>

#include "plan/enumerate.h"
#include "plan/evaluate.h"

namespace ppsim {

struct PlanOutcome {
  std::int64_t combinations = 0;  // the whole search space
  std::int64_t evaluated = 0;     // simulated
  SkipCounts skipped;             // combinations + evaluation skips, by reason
  std::int64_t cost_models_built = 0;
  // Every simulated candidate: the fitting ones by throughput (iteration time, then peak memory,
  // then enumeration order), then the others in the same order.
  std::vector<CandidateResult> ranked;
  std::int64_t fitting = 0;         // ranked[0, fitting) fit
  std::vector<std::size_t> pareto;  // indices into ranked, by increasing peak memory
  std::string why;                  // best against runner-up; empty with fewer than two fitting
};

PlanOutcome rank_candidates(const Enumeration& enumeration, Evaluation evaluation);

// Throws InputError naming plan.yaml when nothing was simulated: every combination of the search
// was skipped (the message gives the counts by reason).
void require_simulated(const std::string& source, const PlanOutcome& outcome);

// The step of `a` (#1) against `b` (#b_rank) split into compute (the busiest rank), bubble, exposed
// data-parallel communication and optimizer, each difference named: "why a beats b".
std::string explain_difference(const CandidateResult& a, const CandidateResult& b, int b_rank = 2);

// The candidates that differ from `c` only in micro-batch size (hence M): how throughput and
// memory move with M for this global batch; indices into ranked, by M.
std::vector<std::size_t> same_but_microbatches(const PlanOutcome& outcome, const Candidate& c);

}  // namespace ppsim
