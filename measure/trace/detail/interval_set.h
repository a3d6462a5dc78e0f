#pragma once
// A union of time intervals, merged once, answering "how much of [a, b] does it cover" in
// O(log n): what the GPU analysis asks of each idle gap.
#include <algorithm>
#include <utility>
#include <vector>

#include "base/time.h"

namespace ppsim::trace::detail {

class IntervalSet {
 public:
  IntervalSet() = default;
  // Merges overlapping and touching intervals; empty ones are dropped.
  explicit IntervalSet(std::vector<std::pair<TimeNs, TimeNs>> intervals) {
    std::sort(intervals.begin(), intervals.end());
    for (const auto& [a, b] : intervals) {
      if (b <= a) continue;
      if (!merged_.empty() && a <= merged_.back().second) merged_.back().second = std::max(merged_.back().second, b);
      else merged_.emplace_back(a, b);
    }
    prefix_.assign(merged_.size() + 1, 0);
    for (std::size_t i = 0; i < merged_.size(); ++i) prefix_[i + 1] = prefix_[i] + merged_[i].second - merged_[i].first;
  }

  const std::vector<std::pair<TimeNs, TimeNs>>& intervals() const { return merged_; }
  TimeNs total() const { return prefix_.empty() ? 0 : prefix_.back(); }

  // Length of [a, b] covered by the set.
  TimeNs covered(TimeNs a, TimeNs b) const {
    if (b <= a || merged_.empty()) return 0;
    return up_to(b) - up_to(a);
  }

 private:
  // Covered length of (-inf, t].
  TimeNs up_to(TimeNs t) const {
    auto it = std::upper_bound(merged_.begin(), merged_.end(), t,
                               [](TimeNs x, const std::pair<TimeNs, TimeNs>& iv) { return x < iv.first; });
    const std::size_t i = static_cast<std::size_t>(it - merged_.begin());  // intervals starting <= t
    if (i == 0) return 0;
    const auto& last = merged_[i - 1];
    return prefix_[i - 1] + std::min(t, last.second) - last.first;
  }

  std::vector<std::pair<TimeNs, TimeNs>> merged_;
  std::vector<TimeNs> prefix_;
};

}  // namespace ppsim::trace::detail
