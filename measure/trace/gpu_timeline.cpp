#include "measure/trace/gpu_timeline.h"

#include <algorithm>
#include <limits>
#include <map>

#include "measure/trace/detail/interval_set.h"

namespace ppsim::trace {
namespace {

using detail::IntervalSet;

int index_of(GpuClass c) { return static_cast<int>(c); }

// HTA's per-stream rule (breakdown_analysis.py, _analyze_idle_time_for_stream) over one step.
std::vector<StreamIdle> stream_idle(const RankTrace& t, const StepWindow& w, TimeNs kernel_wait_ns) {
  std::map<std::int32_t, std::vector<std::uint32_t>> by_stream;
  for (std::uint32_t i : w.gpu) by_stream[t.gpu[i].stream].push_back(i);
  std::vector<StreamIdle> out;
  for (const auto& [stream, events] : by_stream) {
    StreamIdle s;
    s.stream = stream;
    s.events = static_cast<std::int64_t>(events.size());
    for (std::size_t k = 0; k < events.size(); ++k) {
      const GpuEvent& e = t.gpu[events[k]];
      s.busy += e.end - e.start;
      if (k == 0) continue;
      const GpuEvent& prev = t.gpu[events[k - 1]];
      const TimeNs gap = e.start - prev.end;
      if (gap <= 0) continue;
      const HostCall* launch = launch_of(t, e);
      if (launch && launch->start > prev.end) s.host_wait += gap;
      else if (gap < kernel_wait_ns) s.kernel_wait += gap;
      else s.other += gap;
    }
    out.push_back(s);
  }
  return out;
}

RankGpu analyze_rank(const RankTrace& t, const StepWindow& w, int rank, TimeNs window_start, TimeNs window_end,
                     TimeNs kernel_wait_ns) {
  RankGpu g;
  g.rank = rank;
  g.step = w.step;
  if (w.step >= 0) g.host_step_ns = w.host_end - w.host_start;
  std::array<std::vector<std::pair<TimeNs, TimeNs>>, 4> by_class;
  std::vector<std::pair<TimeNs, TimeNs>> all;
  g.first_start = std::numeric_limits<TimeNs>::max();
  g.last_end = std::numeric_limits<TimeNs>::min();
  for (std::uint32_t i : w.gpu) {
    const GpuEvent& e = t.gpu[i];
    const int c = index_of(e.cls);
    by_class[c].emplace_back(e.start, e.end);
    all.emplace_back(e.start, e.end);
    g.class_ns[c] += e.end - e.start;
    ++g.class_events[c];
    g.first_start = std::min(g.first_start, e.start);
    g.last_end = std::max(g.last_end, e.end);
  }
  if (w.gpu.empty()) g.first_start = g.last_end = window_start;
  const IntervalSet compute(by_class[index_of(GpuClass::Compute)]);
  const IntervalSet p2p(by_class[index_of(GpuClass::P2P)]);
  std::vector<std::pair<TimeNs, TimeNs>> comm = by_class[index_of(GpuClass::P2P)];
  comm.insert(comm.end(), by_class[index_of(GpuClass::Collective)].begin(), by_class[index_of(GpuClass::Collective)].end());
  const IntervalSet communication(comm);
  const IntervalSet any(all);
  for (int c = 0; c < 4; ++c) g.class_union_ns[c] = IntervalSet(by_class[c]).total();
  g.busy = compute.total();
  g.active = any.total();
  for (const auto& [a, b] : compute.intervals()) g.comm_overlap += communication.covered(a, b);

  const TimeNs window = window_end - window_start;
  g.idle = window - g.busy;
  const auto& iv = compute.intervals();
  if (iv.empty()) {
    g.idle_leading = window;
    g.compute_first = g.compute_last = window_start;
    g.streams = stream_idle(t, w, kernel_wait_ns);
    return g;
  }
  g.compute_first = iv.front().first;
  g.compute_last = iv.back().second;
  g.idle_leading = iv.front().first - window_start;
  g.idle_trailing = window_end - iv.back().second;

  // The compute kernels by start, to find the one that ends each gap and when it was launched.
  std::vector<std::pair<TimeNs, TimeNs>> launches;  // (kernel start, its launch call's start or -1)
  for (std::uint32_t i : w.gpu) {
    const GpuEvent& e = t.gpu[i];
    if (e.cls != GpuClass::Compute) continue;
    const HostCall* c = launch_of(t, e);
    launches.emplace_back(e.start, c ? c->start : -1);
  }
  std::sort(launches.begin(), launches.end());
  for (std::size_t k = 0; k + 1 < iv.size(); ++k) {
    const TimeNs a = iv[k].second, b = iv[k + 1].first;
    const TimeNs on_p2p = p2p.covered(a, b);
    const TimeNs on_comm = communication.covered(a, b);
    const TimeNs on_any = any.covered(a, b);
    g.inner.pipeline += on_p2p;
    g.inner.collective += on_comm - on_p2p;
    g.inner.memory += on_any - on_comm;
    const TimeNs nothing = (b - a) - on_any;
    // Host wait: every kernel starting at b was launched after the gap began.
    TimeNs earliest_launch = std::numeric_limits<TimeNs>::max();
    bool known = false;
    for (auto it = std::lower_bound(launches.begin(), launches.end(), std::make_pair(b, std::numeric_limits<TimeNs>::min()));
         it != launches.end() && it->first == b; ++it) {
      if (it->second < 0) continue;
      known = true;
      earliest_launch = std::min(earliest_launch, it->second);
    }
    (known && earliest_launch > a ? g.inner.host : g.inner.other) += nothing;
  }
  g.streams = stream_idle(t, w, kernel_wait_ns);
  return g;
}

}  // namespace

GpuSummary analyze_gpu(const std::vector<RankTrace>& ranks, const std::vector<StepWindow>& windows,
                       TimeNs kernel_wait_ns) {
  GpuSummary s;
  TimeNs lo = std::numeric_limits<TimeNs>::max(), hi = std::numeric_limits<TimeNs>::min();
  for (std::size_t r = 0; r < ranks.size(); ++r)
    for (std::uint32_t i : windows[r].gpu) {
      lo = std::min(lo, ranks[r].gpu[i].start);
      hi = std::max(hi, ranks[r].gpu[i].end);
    }
  if (lo > hi) lo = hi = 0;
  s.window_start = lo;
  s.window_ns = hi - lo;
  for (std::size_t r = 0; r < ranks.size(); ++r)
    s.ranks.push_back(analyze_rank(ranks[r], windows[r], static_cast<int>(r), lo, hi, kernel_wait_ns));
  return s;
}

}  // namespace ppsim::trace
