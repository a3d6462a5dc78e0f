#pragma once
// The search space of a plan, enumerated: every combination of its dimensions is either a
// candidate to simulate or skipped for one named reason (the first rule it breaks). Skips found
// only when a candidate is built (a schedule refusing its shape) are added by evaluate().
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "plan/candidate.h"
#include "plan/plan_config.h"

namespace ppsim {

// Why combinations were skipped: reason key -> count. The keys (a contract, listed in
// docs/planning.md with skip_reason_text()):
//   gpus_not_divisible, tensor_parallel_not_dividing_model, tensor_parallel_spans_nodes,
//   layers_fewer_than_stages_x_chunks, schedule_chunks, batch_not_divisible,
//   sequence_parallel_without_tensor_parallel, zero_without_data_parallel,
//   zero_sharded_gradients_with_pipeline, interleaving_constraint, dualpipe_constraint,
//   schedule_constraint, cost_model_rejected
using SkipCounts = std::map<std::string, std::int64_t>;

// One line saying what a reason key means.
std::string skip_reason_text(const std::string& reason);

struct Enumeration {
  std::vector<Candidate> candidates;  // in enumeration order, ids 0, 1, ...
  SkipCounts skipped;
  std::int64_t combinations = 0;      // candidates + skipped
};

Enumeration enumerate_candidates(const PlanConfig& plan);

}  // namespace ppsim
