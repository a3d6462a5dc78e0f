#include "measure/measured_run.h"

#include <algorithm>
#include <numeric>

namespace ppsim {

std::size_t median_iteration(const std::vector<TimeNs>& makespans) {
  std::vector<std::size_t> order(makespans.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return makespans[a] < makespans[b]; });
  return order[order.size() / 2];
}

MeasuredRun run_iterations(const MeasureOptions& o, const std::function<Timeline()>& one,
                           const std::function<void(int)>& before_timed) {
  for (int i = 0; i < o.warmup; ++i) one();
  std::vector<Timeline> runs;
  MeasuredRun result;
  for (int i = 0; i < std::max(1, o.iterations); ++i) {
    if (before_timed) before_timed(i);
    runs.push_back(one());
    const Timeline& tl = runs.back();
    result.iteration_makespans.push_back(tl.end.empty() ? 0 : *std::max_element(tl.end.begin(), tl.end.end()));
  }
  result.reported_iteration = median_iteration(result.iteration_makespans);
  result.timeline = std::move(runs[result.reported_iteration]);
  return result;
}

}  // namespace ppsim
