#include "measure/comparison_report.h"

#include <cstdio>
#include <sstream>

#include "sim/dag.h"

namespace ppsim {

std::string render_comparison_text(const Comparison& c, const Timeline& predicted) {
  std::ostringstream os;
  char line[256];
  os << "predicted vs measured\n";
  std::snprintf(line, sizeof line, "  makespan     %14s predicted  %14s measured  error %+.2f %%\n",
                format_duration(c.predicted_makespan_ns).c_str(), format_duration(c.measured_makespan_ns).c_str(),
                c.makespan_error_pct);
  os << line;
  std::snprintf(line, sizeof line, "  throughput   %11.3f /s predicted  %11.3f /s measured  error %+.2f %%\n",
                c.predicted_throughput, c.measured_throughput, c.throughput_error_pct);
  os << line;
  std::snprintf(line, sizeof line, "  per op       %zu compute ops: median error %.2f %%, worst %.2f %%", c.compared_ops,
                c.median_op_error_pct, c.worst_op_error_pct);
  os << line;
  if (c.worst_op != kNoOp) os << " (" << describe_op(*predicted.table, c.worst_op) << ")";
  os << "\n";
  std::snprintf(line, sizeof line, "  %5s %14s %14s %9s %12s %12s\n", "rank", "busy pred", "busy meas", "error",
                "bubble pred", "bubble meas");
  os << line;
  for (const auto& r : c.ranks) {
    std::snprintf(line, sizeof line, "  %5d %14s %14s %+8.2f%% %11.2f%% %11.2f%%\n", r.rank,
                  format_duration(r.predicted_busy_ns).c_str(), format_duration(r.measured_busy_ns).c_str(),
                  r.busy_error_pct, r.predicted_bubble * 100, r.measured_bubble * 100);
    os << line;
  }
  return os.str();
}

void write_comparison_fields(JsonWriter& w, const Comparison& c) {
  w.field("predicted_makespan_ns", c.predicted_makespan_ns);
  w.field("measured_makespan_ns", c.measured_makespan_ns);
  w.field("makespan_error_pct", c.makespan_error_pct);
  w.field("predicted_throughput_microbatches_per_s", c.predicted_throughput);
  w.field("measured_throughput_microbatches_per_s", c.measured_throughput);
  w.field("throughput_error_pct", c.throughput_error_pct);
  w.field("compared_ops", static_cast<std::int64_t>(c.compared_ops));
  w.field("median_op_error_pct", c.median_op_error_pct);
  w.field("worst_op_error_pct", c.worst_op_error_pct);
  w.key("ranks").begin_array();
  for (const auto& r : c.ranks) {
    w.begin_object();
    w.field("rank", r.rank);
    w.field("predicted_busy_ns", r.predicted_busy_ns);
    w.field("measured_busy_ns", r.measured_busy_ns);
    w.field("busy_error_pct", r.busy_error_pct);
    w.field("predicted_bubble_fraction", r.predicted_bubble);
    w.field("measured_bubble_fraction", r.measured_bubble);
    w.field("bubble_error_points", r.bubble_error_points);
    w.end_object();
  }
  w.end_array();
}

}  // namespace ppsim
