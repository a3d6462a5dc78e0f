// Looped BFS (Lamy-Poirier, "Breadth-First Pipeline Parallelism", 2022; PyTorch's ScheduleLoopedBFS):
// with the interleaved placement, each rank runs every micro-batch through its chunk 0, then its
// chunk 1, ..., and then the backwards through its chunks in reverse, last micro-batch first.
#include "schedules/registry.h"

namespace ppsim {

Schedule generate_looped_bfs(const ScheduleParams& p) {
  Schedule s = start_schedule("looped-bfs", p, false);
  for (int r = 0; r < p.ranks; ++r) {
    auto& out = s.order[r];
    out.reserve(static_cast<std::size_t>(2) * p.microbatches * p.chunks);
    for (int c = 0; c < p.chunks; ++c)  // forward phase: chunks in model order
      for (int m = 0; m < p.microbatches; ++m) out.push_back({ActionKind::F, c * p.ranks + r, m});
    for (int c = p.chunks - 1; c >= 0; --c)  // backward phase: chunks and micro-batches reversed
      for (int m = p.microbatches - 1; m >= 0; --m) out.push_back({ActionKind::BW, c * p.ranks + r, m});
  }
  return s;
}

}  // namespace ppsim
