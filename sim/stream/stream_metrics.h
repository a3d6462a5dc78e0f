#pragma once
// What a stream run measured (issue 15), from its item records only. Statistics cover the measured
// items; time averages cover the window from the warm-up's last finish (time 0 without warm-up) to
// the last measured item's finish. Percentiles are nearest-rank: p_q = the ceil(q n)-th smallest.
#include <cstdint>
#include <utility>
#include <vector>

#include "sim/stream/stream_config.h"
#include "sim/stream/stream_engine.h"

namespace ppsim {

struct LatencyStats {
  double mean_ns = 0;
  TimeNs p50 = 0, p90 = 0, p99 = 0, max = 0;
};

struct StreamStageMetrics {
  double utilization = 0;        // share of the window in service
  double mean_queue_length = 0;  // items waiting in front of the stage (not in service), time average
  std::int64_t max_queue_length = 0;
  double blocked_fraction = 0;   // share of the window holding a served item the next queue had no room for
  double mean_in_system = 0;     // L: items at the stage (waiting, in service, blocked), time average
  double mean_residence_ns = 0;  // W: mean time from reaching the stage to leaving it (measured items)
  double mean_service_ns = 0;    // measured items' mean service time
};

struct StreamMetrics {
  std::int64_t items = 0;
  TimeNs window_begin = 0, window_end = 0;
  double throughput_items_per_s = 0;
  LatencyStats latency;  // admission to finish (closed loop), arrival to finish (open loop)
  bool open_loop = false;
  TimeNs ttff_ns = 0;    // open loop: the first item's arrival (time 0) to its finish
  double mean_in_system = 0;  // L of the whole pipeline, time average
  // Open loop: the offered load of the bottleneck (arrival rate x its mean service time), and
  // whether the queue stays bounded; over capacity, how fast it grows (the measured items' arrival
  // rate less their throughput).
  double offered_load = 0;
  bool stable = true;
  double queue_growth_items_per_s = 0;
  // From the configured mean times: the bottleneck stage and its time per item (at full batches
  // when batching), the latency of one item alone (every stage and hop), and the fewest items in
  // flight that keep the bottleneck busy.
  int bottleneck = 0;
  TimeNs bottleneck_time = 0;
  TimeNs unloaded_latency = 0;
  std::int64_t saturating_in_flight = 0;
  std::vector<StreamStageMetrics> stages;
};

StreamMetrics compute_stream_metrics(const StreamConfig& config, const StreamRun& run);

// Items waiting in front of stage k over time: (time, count) at every change, from time 0 to the
// run's stop.
std::vector<std::pair<TimeNs, std::int64_t>> queue_occupancy(const StreamRun& run, int k);

// The nearest-rank q-quantile of `v` (sorted in place).
TimeNs nearest_rank_quantile(std::vector<TimeNs>& v, double q);

}  // namespace ppsim
