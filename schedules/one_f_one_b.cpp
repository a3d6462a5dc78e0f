// 1F1B (PipeDream-flush): rank s warms up with min(P-s-1, M) forwards, then alternates one forward
// and one (fused) backward, then drains the remaining backwards.
#include "schedules/detail/one_f_one_b_core.h"
#include "schedules/registry.h"
#include "base/error.h"

namespace ppsim {

Schedule generate_1f1b(const ScheduleParams& p) {
  if (p.chunks != 1)
    throw InputError("schedule 1f1b runs one chunk per rank (chunks: " + std::to_string(p.chunks) +
                     "); use interleaved-1f1b for virtual chunks");
  Schedule s = start_schedule("1f1b", p, false);
  for (int r = 0; r < p.ranks; ++r) {
    detail::OneFOneBShape sh;
    sh.warmup = p.ranks - r - 1;
    const auto mbs = detail::single_stage_sequence(r, p.microbatches);
    s.order[r] = detail::one_f_one_b_order(mbs, mbs, sh);
  }
  return s;
}

}  // namespace ppsim
