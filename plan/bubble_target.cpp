#include "plan/bubble_target.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>

#include "base/error.h"
#include "sim/simulation.h"

namespace ppsim {

double parse_fraction(const std::string& text, const std::string& flag) {
  std::string t = text;
  const bool percent = !t.empty() && t.back() == '%';
  if (percent) t.pop_back();
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  const double f = percent ? v / 100 : v;
  if (t.empty() || end != t.c_str() + t.size() || !std::isfinite(f) || f <= 0 || f >= 1)
    throw InputError(flag + ": '" + text + "' is not a fraction between 0 and 1 (e.g. 5% or 0.05)");
  return f;
}

BubbleTarget smallest_microbatches_for_bubble(const PlanConfig& plan, const Candidate& c, double target) {
  BubbleTarget out;
  out.target = target;
  const double P = c.stages, V = c.chunks;
  out.estimate = std::max(1, static_cast<int>(std::ceil((P - 1) * (1 - target) / (target * V) - 1e-9)));
  SimulationConfig config = simulation_config(plan, c);
  config.model->memory_limit_bytes = std::numeric_limits<std::int64_t>::max();
  // The op costs do not depend on M: built once, from the first layout that the schedule accepts.
  std::optional<ModelCosts> costs;
  const int first = std::max(1, out.estimate / 2), last = std::max(4 * out.estimate, first + 4 * c.stages);
  for (int m = first; m <= last; ++m) {
    config.microbatches = m;
    config.global_batch_size = static_cast<std::int64_t>(m) * c.data_parallel * c.micro_batch_size;
    if (config.schedule == "zb-auto") config.in_flight_limit = c.stages;
    Schedule layout;
    try {
      layout = layout_schedule(config);
    } catch (const InputError&) {
      continue;  // a shape the schedule refuses (interleaving rounds, DualPipe's even M)
    }
    if (!costs) costs = build_model_costs(*config.model, layout);
    const SimulationResult r = run_model_simulation(config, layout, *costs);
    out.searched_up_to = m;
    if (r.metrics.bubble_fraction > target) continue;
    out.found = true;
    out.microbatches = m;
    out.global_batch_size = config.global_batch_size;
    out.bubble_fraction = r.metrics.bubble_fraction;
    const RankMetrics& rank0 = r.metrics.ranks.front();
    out.mean_in_flight = rank0.mean_in_flight;
    out.arrival_rate_per_s = rank0.arrival_rate_per_s;
    out.mean_residence_ns = rank0.mean_residence_ns;
    out.peak_in_flight = rank0.peak_in_flight;
    break;
  }
  return out;
}

std::string describe_bubble_target(const BubbleTarget& t, const Candidate& c) {
  char buf[600];
  if (!t.found) {
    std::snprintf(buf, sizeof buf,
                  "bubble target %.1f %%: %s does not reach it for any M up to %d (the estimate (P - 1)(1 - b) / (b V) "
                  "is %d; a bubble that M does not shrink comes from unequal stages or the hops between them)\n",
                  100 * t.target, c.schedule.c_str(), t.searched_up_to, t.estimate);
    return buf;
  }
  std::snprintf(buf, sizeof buf,
                "bubble target %.1f %%: the best configuration needs M >= %d micro-batches (simulated bubble %.2f %%; "
                "global batch %lld = M x d %d x micro-batch %d; it runs M = %d now). The fill-and-drain estimate "
                "(P - 1)(1 - b) / (b V) gives %d. At M = %d rank 0 holds L = lambda W = %.2f micro-batch chunks in flight on "
                "average (lambda %.3g /s, W %.3g ms; peak %d): the in-flight count the target needs.\n",
                100 * t.target, t.microbatches, 100 * t.bubble_fraction, static_cast<long long>(t.global_batch_size),
                c.data_parallel, c.micro_batch_size, c.microbatches, t.estimate, t.microbatches, t.mean_in_flight,
                t.arrival_rate_per_s, t.mean_residence_ns * 1e-6, t.peak_in_flight);
  return buf;
}

}  // namespace ppsim
