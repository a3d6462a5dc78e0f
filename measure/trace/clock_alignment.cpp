#include "measure/trace/clock_alignment.h"

#include <algorithm>
#include <cstdlib>
#include <queue>

namespace ppsim::trace {
namespace {

std::vector<TimeNs> p2p_ends(const RankTrace& t, const StepWindow& w) {
  std::vector<TimeNs> ends;
  for (std::uint32_t i : w.gpu)
    if (t.gpu[i].cls == GpuClass::P2P) ends.push_back(t.gpu[i].end);
  std::sort(ends.begin(), ends.end());
  return ends;
}

struct PairFit {
  bool found = false;
  TimeNs offset = 0;  // add to b's times to put them on a's clock
  std::int64_t matched = 0;
  TimeNs spread = 0;
};

// The offset d that makes most ends of b (+ d) land within `tolerance` of an end of a: the densest
// cluster of pairwise differences near the step-start guess, taken at its median.
PairFit fit_pair(const std::vector<TimeNs>& a, const std::vector<TimeNs>& b, TimeNs guess, TimeNs reach,
                 TimeNs tolerance) {
  PairFit fit;
  if (a.empty() || b.empty()) return fit;
  std::vector<TimeNs> diffs;
  for (TimeNs e : b) {
    auto lo = std::lower_bound(a.begin(), a.end(), e + guess - reach);
    for (auto it = lo; it != a.end() && *it <= e + guess + reach; ++it) diffs.push_back(*it - e);
    if (diffs.size() > 4'000'000) break;  // enough to find the cluster
  }
  if (diffs.empty()) return fit;
  std::sort(diffs.begin(), diffs.end());
  std::size_t best_lo = 0, best_n = 0;
  TimeNs best_distance = 0;
  for (std::size_t lo = 0, hi = 0; lo < diffs.size(); ++lo) {
    while (hi < diffs.size() && diffs[hi] - diffs[lo] <= tolerance) ++hi;
    const std::size_t n = hi - lo;
    const TimeNs distance = std::llabs(diffs[lo + (n - 1) / 2] - guess);
    if (n > best_n || (n == best_n && distance < best_distance)) {
      best_lo = lo, best_n = n, best_distance = distance;
    }
  }
  // One transfer each way per micro-batch: demand at least two ends and a quarter of the smaller side.
  const std::size_t need = std::max<std::size_t>(2, std::min(a.size(), b.size()) / 4);
  if (best_n < need) return fit;
  fit.found = true;
  fit.matched = static_cast<std::int64_t>(best_n);
  fit.offset = diffs[best_lo + (best_n - 1) / 2];
  fit.spread = std::max(fit.offset - diffs[best_lo], diffs[best_lo + best_n - 1] - fit.offset);
  return fit;
}

}  // namespace

std::vector<RankClock> align_clocks(const std::vector<RankTrace>& ranks, const std::vector<StepWindow>& windows,
                                    const std::vector<std::pair<int, int>>& talks, TimeNs tolerance_ns) {
  const int n = static_cast<int>(ranks.size());
  std::vector<RankClock> clocks(static_cast<std::size_t>(n));
  if (n == 0) return clocks;
  clocks[0].method = "reference";
  std::vector<std::vector<TimeNs>> ends;
  for (int r = 0; r < n; ++r) ends.push_back(p2p_ends(ranks[r], windows[r]));
  const bool steps = windows[0].step >= 0;
  // Breadth first from rank 0 over the ranks that talk.
  std::vector<bool> done(static_cast<std::size_t>(n), false);
  done[0] = true;
  std::queue<int> todo;
  todo.push(0);
  while (!todo.empty()) {
    const int a = todo.front();
    todo.pop();
    for (const auto& [x, y] : talks) {
      if (x != a && y != a) continue;
      const int b = x == a ? y : x;
      if (b < 0 || b >= n || done[b]) continue;
      // Search around the step-start guess, as far as a step lasts.
      const TimeNs guess = steps ? windows[a].host_start - windows[b].host_start : 0;
      const TimeNs reach = std::max<TimeNs>({windows[a].host_end - windows[a].host_start,
                                             windows[b].host_end - windows[b].host_start, 1'000'000});
      const PairFit fit = fit_pair(ends[a], ends[b], guess, reach, tolerance_ns);
      if (!fit.found) continue;
      done[b] = true;
      clocks[b] = {clocks[a].offset_ns + fit.offset, "nccl send/recv pairs with rank " + std::to_string(a), fit.matched,
                   fit.spread};
      todo.push(b);
    }
  }
  for (int r = 1; r < n; ++r) {
    if (done[r]) continue;
    if (steps) clocks[r] = {windows[0].host_start - windows[r].host_start, "profiler step start", 0, 0};
    else clocks[r] = {0, "none (no send/recv pairs, no profiler step)", 0, 0};
  }
  return clocks;
}

void shift_clock(RankTrace& t, StepWindow& w, TimeNs offset) {
  t.clock_offset_ns = offset;
  if (offset == 0) return;
  for (GpuEvent& e : t.gpu) e.start += offset, e.end += offset;
  for (HostCall& c : t.calls) c.start += offset, c.end += offset;
  for (HostRange& r : t.ranges) r.start += offset, r.end += offset;
  for (HostRange& s : t.steps) s.start += offset, s.end += offset;
  w.host_start += offset;
  w.host_end += offset;
}

}  // namespace ppsim::trace
