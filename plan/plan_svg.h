#pragma once
// The pictures of a plan (SVG, readable without a browser): throughput against peak memory per GPU
// with the Pareto front and the memory limit; the bubble over (P, M) for the best schedule; the best
// configuration's timeline.
#include <string>

#include "plan/plan_config.h"
#include "plan/ranking.h"
#include "sim/report/svg_heatmap.h"

namespace ppsim {

// Every simulated candidate as a point (fitting: filled blue; not fitting: hollow red), the front
// as a line, the memory limit as a dashed vertical line, the best circled.
std::string render_pareto_svg(const PlanConfig& plan, const PlanOutcome& outcome);

// The best schedule's bubble fraction over the (P, M) pairs the search simulated: in each cell the
// smallest bubble among that schedule's candidates with that P and M.
Heatmap plan_bubble_heatmap(const PlanOutcome& outcome);

// The best configuration run again through `simulate`'s path, as render_svg_timeline draws it.
std::string render_best_timeline_svg(const PlanConfig& plan, const PlanOutcome& outcome);

}  // namespace ppsim
