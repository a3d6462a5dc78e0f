// GPipe: every rank runs all its forwards, then all its backwards (fused B+W).
#include "schedules/registry.h"

namespace ppsim {

Schedule generate_gpipe(const ScheduleParams& p) {
  Schedule s = start_schedule("gpipe", p, false);
  for (int r = 0; r < p.ranks; ++r) {
    auto& out = s.order[r];
    out.reserve(static_cast<std::size_t>(2) * p.microbatches * p.chunks);
    // Forward phase: chunks in model order, micro-batches in order.
    for (int c = 0; c < p.chunks; ++c)
      for (int m = 0; m < p.microbatches; ++m) out.push_back({ActionKind::F, c * p.ranks + r, m});
    // Backward phase: chunks in reverse model order.
    for (int c = p.chunks - 1; c >= 0; --c)
      for (int m = 0; m < p.microbatches; ++m) out.push_back({ActionKind::BW, c * p.ranks + r, m});
  }
  return s;
}

}  // namespace ppsim
