#include "measure/comparison.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace ppsim {

Comparison compare_timelines(const Timeline& pred, const Metrics& pm, const Timeline& meas, const Metrics& mm) {
  const OpTable& a = *pred.table;
  const OpTable& b = *meas.table;
  auto mismatch = [](const std::string& what, std::int64_t p, std::int64_t m) {
    throw InputError("the measured run does not match the prediction: " + what + " " + std::to_string(m) +
                     " measured vs " + std::to_string(p) + " predicted");
  };
  if (a.ranks != b.ranks) mismatch("stages", a.ranks, b.ranks);
  if (a.microbatches != b.microbatches) mismatch("microbatches", a.microbatches, b.microbatches);
  if (a.stages != b.stages) mismatch("virtual stages", a.stages, b.stages);
  // The pipelines are compared; a training step after either (a model-driven prediction's data-
  // parallel collectives and optimizer) is not what a pipeline measurement records.
  if (a.pipeline_ops() != b.pipeline_ops())
    mismatch("ops", static_cast<std::int64_t>(a.pipeline_ops()), static_cast<std::int64_t>(b.pipeline_ops()));
  for (std::size_t v = 0; v < a.pipeline_ops(); ++v) {
    const Op &x = a.ops[v], &y = b.ops[v];
    if (x.kind != y.kind || x.stage != y.stage || x.microbatch != y.microbatch || x.is_transfer != y.is_transfer ||
        x.resource != y.resource)
      throw InputError("the measured run does not match the prediction: op " + std::to_string(v) + " is " +
                       to_csv_string({y.kind, y.stage, y.microbatch}) + " measured but " +
                       to_csv_string({x.kind, x.stage, x.microbatch}) + " predicted (different schedule?)");
  }
  Comparison c;
  c.predicted_makespan_ns = pm.makespan_ns;
  c.measured_makespan_ns = mm.makespan_ns;
  auto pct = [](double p, double m) { return m != 0 ? (p - m) / m * 100.0 : 0.0; };
  c.makespan_error_pct = pct(static_cast<double>(pm.makespan_ns), static_cast<double>(mm.makespan_ns));
  c.predicted_throughput = pm.throughput_microbatches_per_s;
  c.measured_throughput = mm.throughput_microbatches_per_s;
  c.throughput_error_pct = pct(c.predicted_throughput, c.measured_throughput);
  for (std::size_t r = 0; r < pm.ranks.size(); ++r) {
    RankComparison rc;
    rc.rank = static_cast<int>(r);
    rc.predicted_busy_ns = pm.ranks[r].busy_ns;
    rc.measured_busy_ns = mm.ranks[r].busy_ns;
    rc.busy_error_pct = pct(static_cast<double>(rc.predicted_busy_ns), static_cast<double>(rc.measured_busy_ns));
    rc.predicted_bubble = pm.ranks[r].bubble_fraction;
    rc.measured_bubble = mm.ranks[r].bubble_fraction;
    rc.bubble_error_points = (rc.predicted_bubble - rc.measured_bubble) * 100.0;
    c.ranks.push_back(rc);
  }
  std::vector<std::pair<double, OpId>> errors;
  for (OpId v = 0; v < a.compute_ops(); ++v) {
    const double p = static_cast<double>(pred.end[v] - pred.start[v]);
    const double m = static_cast<double>(meas.end[v] - meas.start[v]);
    if (m <= 0) continue;
    errors.emplace_back(std::fabs(p - m) / m * 100.0, v);
  }
  c.compared_ops = errors.size();
  if (!errors.empty()) {
    std::sort(errors.begin(), errors.end());
    c.median_op_error_pct = errors[errors.size() / 2].first;
    c.worst_op_error_pct = errors.back().first;
    c.worst_op = errors.back().second;
  }
  return c;
}

}  // namespace ppsim
