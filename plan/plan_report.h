#pragma once
// The reports of a plan: the text report, the JSON (keys are a contract: evaluated, skipped, best,
// pareto, candidates[] with each candidate's configuration and figures) and the CSV of every
// simulated candidate.
#include <string>

#include "plan/bubble_target.h"
#include "plan/plan_config.h"
#include "plan/ranking.h"

namespace ppsim {

// The top K fitting configurations by throughput, the Pareto front (non-fitting points marked),
// why the best beats the runner-up, and how the best's throughput and memory move with M.
std::string render_plan_text(const PlanConfig& plan, const PlanOutcome& outcome, int top_k);

// With `bubble_target` (--bubble-target), also its answer under the key bubble_target.
std::string render_plan_json(const PlanConfig& plan, const PlanOutcome& outcome, const BubbleTarget* bubble_target = nullptr);

// One row per simulated candidate, in ranked order, with the JSON's candidate keys as header.
std::string render_plan_csv(const PlanOutcome& outcome);

}  // namespace ppsim
