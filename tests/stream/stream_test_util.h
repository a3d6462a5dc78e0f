#pragma once
// Stream runs for the theory tests, and the Monte-Carlo error of their estimates: batch means over
// consecutive measured items (20 batches), whose standard error allows for the correlation between
// neighbouring items that a plain sample standard deviation would miss.
#include <cmath>
#include <functional>
#include <vector>

#include "sim/stream/stream_engine.h"
#include "sim/stream/stream_metrics.h"

namespace ppsim::test {

inline StreamConfig stream(std::vector<TimeNs> forward, std::int64_t items, std::int64_t warmup = 1000) {
  StreamConfig c;
  c.stages = static_cast<int>(forward.size());
  c.forward = std::move(forward);
  c.items = items;
  c.warmup_items = warmup;
  c.queue_capacity.assign(c.stages, kUnbounded);
  return c;
}

inline TimeNs ms(double v) { return static_cast<TimeNs>(std::llround(v * 1e6)); }

struct Estimate {
  double value = 0;  // the mean of the batch estimates
  double se = 0;     // their standard error
};

// `stat` maps one batch (measured items [begin, end)) to a number; 20 batches.
inline Estimate batch_means(const StreamRun& run, const std::function<double(std::int64_t, std::int64_t)>& stat) {
  constexpr int kBatches = 20;
  const std::int64_t n = run.measured_end - run.measured_begin, per = n / kBatches;
  std::vector<double> v;
  for (int j = 0; j < kBatches; ++j) v.push_back(stat(run.measured_begin + j * per, run.measured_begin + (j + 1) * per));
  double mean = 0, ss = 0;
  for (double x : v) mean += x / kBatches;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / (kBatches - 1) / kBatches)};
}

// Latency of item i: from its arrival (open loop) or admission (closed loop) to its finish.
inline double latency(const StreamRun& run, std::int64_t i, bool open) {
  return static_cast<double>(run.finish[i] - (open ? run.arrival[i] : run.admit[i]));
}

inline Estimate mean_latency(const StreamRun& run, bool open) {
  return batch_means(run, [&](std::int64_t b, std::int64_t e) {
    double s = 0;
    for (std::int64_t i = b; i < e; ++i) s += latency(run, i, open);
    return s / static_cast<double>(e - b);
  });
}

inline Estimate latency_quantile(const StreamRun& run, bool open, double q) {
  return batch_means(run, [&](std::int64_t b, std::int64_t e) {
    std::vector<TimeNs> v;
    for (std::int64_t i = b; i < e; ++i) v.push_back(static_cast<TimeNs>(latency(run, i, open)));
    return static_cast<double>(nearest_rank_quantile(v, q));
  });
}

// Items per second over each batch (from the previous batch's last finish to its own).
inline Estimate throughput(const StreamRun& run) {
  return batch_means(run, [&](std::int64_t b, std::int64_t e) {
    return static_cast<double>(e - b) * 1e9 / static_cast<double>(run.finish[e - 1] - run.finish[b - 1]);
  });
}

// Within `sigmas` standard errors (the stated Monte-Carlo error), printed on failure.
#define EXPECT_WITHIN_MC(est, exact, sigmas)                                                              \
  EXPECT_LE(std::fabs((est).value - (exact)), (sigmas) * (est).se)                                        \
      << "estimate " << (est).value << " +- " << (est).se << " (1 s.e.), exact " << (exact)

}  // namespace ppsim::test
