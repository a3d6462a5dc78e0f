#include "sim/stream/stream_metrics.h"

#include <algorithm>
#include <cmath>

namespace ppsim {
namespace {

// The length of [a, b) inside [lo, hi); an unset end (-1) runs to `hi`.
double clipped(TimeNs a, TimeNs b, TimeNs lo, TimeNs hi) {
  if (a < 0) return 0;
  if (b < 0) b = hi;
  const TimeNs x = std::max(a, lo), y = std::min(b, hi);
  return y > x ? static_cast<double>(y - x) : 0.0;
}

}  // namespace

TimeNs nearest_rank_quantile(std::vector<TimeNs>& v, double q) {
  if (v.empty()) return 0;
  const auto n = static_cast<std::int64_t>(v.size());
  std::int64_t rank = static_cast<std::int64_t>(std::ceil(q * static_cast<double>(n)));
  rank = std::clamp<std::int64_t>(rank, 1, n);
  std::nth_element(v.begin(), v.begin() + (rank - 1), v.end());
  return v[rank - 1];
}

std::vector<std::pair<TimeNs, std::int64_t>> queue_occupancy(const StreamRun& run, int k) {
  std::vector<std::pair<TimeNs, int>> steps;
  for (std::int64_t i = 0; i < run.items(); ++i) {
    const TimeNs in = run.enter[run.at(i, k)], out = run.start[run.at(i, k)];
    if (in < 0) continue;
    steps.emplace_back(in, +1);
    if (out >= 0) steps.emplace_back(out, -1);
  }
  // At one instant, starts before arrivals: an item that starts at once never counts as waiting.
  std::sort(steps.begin(), steps.end());
  std::vector<std::pair<TimeNs, std::int64_t>> out{{0, 0}};
  std::int64_t n = 0;
  for (const auto& s : steps) {
    n += s.second;
    if (out.back().first == s.first) out.back().second = n;
    else out.emplace_back(s.first, n);
  }
  return out;
}

StreamMetrics compute_stream_metrics(const StreamConfig& c, const StreamRun& run) {
  StreamMetrics m;
  const int P = c.stages;
  const std::int64_t b = run.measured_begin, e = run.measured_end;
  m.items = e - b;
  m.open_loop = c.arrivals.has_value();
  m.window_begin = b > 0 ? run.finish[b - 1] : 0;
  m.window_end = run.stop;
  const double T = static_cast<double>(m.window_end - m.window_begin);
  m.throughput_items_per_s = T > 0 ? static_cast<double>(m.items) * 1e9 / T : 0;

  // Latency of the measured items, and the number in the pipeline over the window.
  std::vector<TimeNs> lat;
  lat.reserve(static_cast<std::size_t>(m.items));
  double sum = 0, in_system = 0;
  for (std::int64_t i = b; i < e; ++i) {
    const TimeNs from = m.open_loop ? run.arrival[i] : run.admit[i];
    lat.push_back(run.finish[i] - from);
    sum += static_cast<double>(run.finish[i] - from);
  }
  for (std::int64_t i = 0; i < run.items(); ++i)
    in_system += clipped(m.open_loop ? run.arrival[i] : run.admit[i], run.finish[i], m.window_begin, m.window_end);
  m.mean_in_system = T > 0 ? in_system / T : 0;
  m.latency.mean_ns = sum / static_cast<double>(m.items);
  m.latency.p50 = nearest_rank_quantile(lat, 0.50);
  m.latency.p90 = nearest_rank_quantile(lat, 0.90);
  m.latency.p99 = nearest_rank_quantile(lat, 0.99);
  m.latency.max = *std::max_element(lat.begin(), lat.end());
  if (m.open_loop) m.ttff_ns = run.finish[0] - run.arrival[0];

  m.stages.resize(P);
  for (int k = 0; k < P; ++k) {
    StreamStageMetrics& s = m.stages[k];
    double busy = 0, waiting = 0, blocked = 0, at_stage = 0, residence = 0, service = 0;
    for (std::int64_t i = 0; i < run.items(); ++i) {
      const std::size_t x = run.at(i, k);
      // A batch's items share one op (the same start): the stage is busy once for them, and
      // blocked from their end until the last of them (which leaves last) has left.
      const bool last_of_batch = i + 1 == run.items() || run.start[x] < 0 || run.start[run.at(i + 1, k)] != run.start[x];
      if (last_of_batch) {
        busy += clipped(run.start[x], run.end[x], m.window_begin, m.window_end);
        blocked += clipped(run.end[x], run.leave[x], m.window_begin, m.window_end);
      }
      waiting += clipped(run.enter[x], run.start[x], m.window_begin, m.window_end);
      at_stage += clipped(run.enter[x], run.leave[x], m.window_begin, m.window_end);
      if (i >= b && i < e) {
        residence += static_cast<double>(run.leave[x] - run.enter[x]);
        service += static_cast<double>(run.end[x] - run.start[x]);
      }
    }
    if (T > 0) {
      s.utilization = busy / T;
      s.mean_queue_length = waiting / T;
      s.blocked_fraction = blocked / T;
      s.mean_in_system = at_stage / T;
    }
    s.mean_residence_ns = residence / static_cast<double>(m.items);
    s.mean_service_ns = service / static_cast<double>(m.items);
    // The largest count held for a while inside the window (each holds until the next change).
    const auto q = queue_occupancy(run, k);
    for (std::size_t j = 0; j < q.size(); ++j) {
      const TimeNs until = j + 1 < q.size() ? q[j + 1].first : m.window_end;
      if (q[j].first < m.window_end && until > m.window_begin && until > q[j].first)
        s.max_queue_length = std::max(s.max_queue_length, q[j].second);
    }
  }

  // The configured pipeline: its bottleneck, one item's latency alone, and Little's law's
  // N* = ceil(unloaded latency / bottleneck time): fewer items in flight leave the bottleneck idle.
  m.unloaded_latency = c.total_hops();
  for (TimeNs t : c.forward) m.unloaded_latency += t;
  if (c.batch.max == 1) {
    m.bottleneck = static_cast<int>(std::max_element(c.forward.begin(), c.forward.end()) - c.forward.begin());
    m.bottleneck_time = c.forward[m.bottleneck];
    m.saturating_in_flight = m.bottleneck_time > 0
                                 ? (m.unloaded_latency + m.bottleneck_time - 1) / m.bottleneck_time
                                 : 1;
  } else {
    // Batching: a stage's capacity is max items per t(max), the bottleneck the stage with the
    // longest time per item at full batches; full batches take t(max) at every stage, so N* =
    // ceil(capacity x the latency of a full batch).
    const int b = c.batch.max;
    TimeNs full_latency = c.total_hops();
    for (int k = 0; k < P; ++k) {
      full_latency += batch_time(c, k, b);
      if (batch_time(c, k, b) > batch_time(c, m.bottleneck, b)) m.bottleneck = k;
    }
    const TimeNs tb = batch_time(c, m.bottleneck, b);
    m.bottleneck_time = (tb + b / 2) / b;  // per item, rounded
    m.saturating_in_flight = tb > 0 ? (full_latency * b + tb - 1) / tb : 1;
  }
  if (m.open_loop) {
    const double rate = 1.0 / static_cast<double>(c.arrivals->interval);  // per ns
    m.offered_load = rate * static_cast<double>(m.bottleneck_time);
    // The measured items' arrival rate less the rate they were served at.
    const TimeNs span = run.arrival[e - 1] - run.arrival[b];
    const double arrival_rate = span > 0 ? static_cast<double>(e - 1 - b) * 1e9 / static_cast<double>(span) : 0;
    m.queue_growth_items_per_s = arrival_rate - m.throughput_items_per_s;
    // Over capacity by the bottleneck's mean time, or, where a cap or a full queue limits the
    // pipeline below it, by the measured departures falling 5 % short of the arrivals.
    m.stable = m.offered_load < 1.0 && m.throughput_items_per_s >= 0.95 * rate * 1e9;
  }
  return m;
}

}  // namespace ppsim
