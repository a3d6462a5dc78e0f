#pragma once
// Predicted vs measured: two timelines over the same op table (same schedule, same DAG numbering),
// compared op by op and through the same metrics.
#include <string>
#include <vector>

#include "sim/metrics.h"
#include "sim/timeline.h"

namespace ppsim {

struct RankComparison {
  int rank = 0;
  TimeNs predicted_busy_ns = 0, measured_busy_ns = 0;
  double busy_error_pct = 0;             // (predicted - measured) / measured x 100
  double predicted_bubble = 0, measured_bubble = 0;
  double bubble_error_points = 0;        // predicted - measured, in percentage points
};

struct Comparison {
  TimeNs predicted_makespan_ns = 0, measured_makespan_ns = 0;
  double makespan_error_pct = 0;         // (predicted - measured) / measured x 100
  double predicted_throughput = 0, measured_throughput = 0;  // micro-batches per second
  double throughput_error_pct = 0;       // (predicted - measured) / measured throughput x 100
  std::vector<RankComparison> ranks;
  // Per compute op: |predicted duration - measured duration| / measured duration.
  std::size_t compared_ops = 0;
  double median_op_error_pct = 0, worst_op_error_pct = 0;
  OpId worst_op = kNoOp;
};

// Throws InputError when the timelines do not describe the same configuration (`what` names them).
Comparison compare_timelines(const Timeline& predicted, const Metrics& predicted_metrics, const Timeline& measured,
                             const Metrics& measured_metrics);

}  // namespace ppsim
