#pragma once
// Every figure ppsim reports, computed from a timeline alone (simulated or measured), so the two are
// measured with the same code. The definitions are in docs/metrics.md.
#include <cstdint>
#include <utility>
#include <vector>

#include "sim/timeline.h"

namespace ppsim {

struct RankMetrics {
  int rank = 0;
  TimeNs busy_ns = 0;          // sum of compute durations
  TimeNs first_start_ns = 0, last_end_ns = 0;
  TimeNs span_ns = 0;          // last end - first start on this rank
  double bubble_fraction = 0;  // 1 - busy / makespan
  // Idle breakdown (sums to makespan - busy): before the first op, after the last, and gaps
  // inside the span by what the next op waited for.
  TimeNs idle_leading_ns = 0, idle_trailing_ns = 0;
  TimeNs idle_waiting_activation_ns = 0, idle_waiting_gradient_ns = 0, idle_other_ns = 0;
  TimeNs idle_waiting_parameters_ns = 0;  // ZeRO-3: for the data-parallel gather of the next op's parameters
  // Little's law over micro-batch chunks on this rank: an item is in flight from the start of its
  // F to the end of its last backward piece.
  std::int64_t items = 0;
  int peak_in_flight = 0;
  double mean_in_flight = 0;      // L: time average of N(t) over the makespan, from the timeline sweep
  double arrival_rate_per_s = 0;  // lambda = items / makespan
  double mean_residence_ns = 0;   // W: mean of per-item residence times
  std::int64_t peak_activation_bytes = 0;  // when activation bytes per stage are known
  // The training step after the pipeline (runs with step ops): time on the rank's data-parallel
  // channel, its optimizer update, and when its last step op ends (from the run's start).
  TimeNs data_parallel_busy_ns = 0, optimizer_ns = 0, step_end_ns = 0;
};

struct LinkMetrics {
  int resource = 0;
  int src = 0, dst = 0;
  std::int64_t transfers = 0;
  std::int64_t queued_transfers = 0;  // transfers that waited for the link itself
  TimeNs busy_ns = 0;
};

struct CriticalPath {
  std::vector<OpId> ops;  // from the first op to the last-ending one
  TimeNs compute_ns = 0, transfer_ns = 0, step_ns = 0;  // step_ns: training-step ops on the path
};

struct Metrics {
  TimeNs makespan_ns = 0;         // the pipeline: first op start to last compute or transfer end
  TimeNs start_ns = 0;            // start of the first op
  double bubble_fraction = 0;     // 1 - sum(busy) / (P * makespan)
  double bubble_rate_zb = 0;      // (C - B*) / C, C = largest span, B* = largest busy
  TimeNs largest_span_ns = 0, largest_busy_ns = 0;
  double throughput_microbatches_per_s = 0;
  std::vector<RankMetrics> ranks;
  std::vector<LinkMetrics> links;
  CriticalPath critical_path;     // empty for measured timelines (no causes recorded)
  // One whole training step: the pipeline, then what of the data-parallel reduction and the
  // optimizer did not hide under it (iteration = makespan + exposed_data_parallel +
  // exposed_optimizer). Equal to the makespan, and both 0, without step ops.
  bool has_training_step = false;
  TimeNs iteration_ns = 0;
  TimeNs exposed_data_parallel_ns = 0, exposed_optimizer_ns = 0;
};

struct MetricsOptions {
  // Activation bytes stashed per in-flight micro-batch for each virtual stage; empty = unknown.
  std::vector<std::int64_t> activation_bytes_per_stage;
};

Metrics compute_metrics(const Timeline& timeline, const MetricsOptions& options = {});

// compute_metrics' working memory. Kept between calls with the same `out` (sim/simulator.h), the
// metrics of a run no larger than the last allocate nothing.
struct MetricsBuffers {
  std::vector<TimeNs> item_start;      // one rank's items, per (its stage, micro-batch): the F's start
  std::vector<int> stage_slot;         // per stage: its place among the rank's stages, or -1
  std::vector<int> stages_here;        // the rank's stages in order of appearance
  std::vector<std::pair<TimeNs, std::int64_t>> starts, ends;  // one rank's items: (instant, bytes)
  std::vector<int> link_index;                             // resource -> index in Metrics::links
};

// The same into `out`, reusing its vectors' memory and `buffers`'.
void compute_metrics_into(const Timeline& timeline, const MetricsOptions& options, Metrics& out,
                          MetricsBuffers& buffers);

}  // namespace ppsim
