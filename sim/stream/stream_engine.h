#pragma once
// The streaming engine (issue 15): items flow forward through P single-server stages, FIFO, each
// with the queue in front of it that `queue_capacity` bounds (blocking after service: a stage whose
// next queue is full holds its finished item, and serves nothing, until there is room). Items enter
// by admission: an open loop's arrivals wait for it, a closed loop admits while fewer than
// `max_outstanding` are unfinished, and with neither an item is admitted whenever stage 0 can take
// it. The engine records when each item reached each stage, started, ended and left, and nothing
// else: every statistic is computed from those records (sim/stream/stream_metrics.h).
#include <cstdint>
#include <vector>

#include "base/time.h"
#include "sim/stream/stream_config.h"

namespace ppsim {

// Per item i and stage k, index i * stages + k.
struct StreamRun {
  int stages = 0;
  std::int64_t measured_begin = 0, measured_end = 0;  // measured items: [warmup, warmup + items)
  std::vector<TimeNs> arrival;  // per item: it arrived (open loop) or was first ready (= admit)
  std::vector<TimeNs> admit;    // per item: admitted into stage 0's queue
  std::vector<TimeNs> finish;   // per item: left the last stage; -1 while unfinished
  std::vector<TimeNs> enter, start, end, leave;  // per item and stage; -1 where it never got there
  TimeNs stop = 0;  // the run stops when the last measured item finishes
  std::int64_t items() const { return static_cast<std::int64_t>(admit.size()); }
  std::size_t at(std::int64_t item, int stage) const { return static_cast<std::size_t>(item * stages + stage); }
};

// Runs the config's items (warm-up, measured, and those admitted while the measured ones finish).
StreamRun run_stream(const StreamConfig& config);

}  // namespace ppsim
