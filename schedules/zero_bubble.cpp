// Zero-bubble handcrafted schedules (Qi et al., "Zero Bubble Pipeline Parallelism", 2023). Both
// split the backward into B (input gradient, on the critical path) and W (weight gradient, free
// to move) and use the deferred W's to fill what would otherwise be bubbles.
#include "schedules/detail/one_f_one_b_core.h"
#include "schedules/registry.h"
#include "base/error.h"

namespace ppsim {
namespace {

Schedule zero_bubble(const ScheduleParams& p, const char* kind, bool h2) {
  if (p.chunks != 1)
    throw InputError(std::string("schedule ") + kind + " runs one chunk per rank (chunks: " +
                     std::to_string(p.chunks) + ")");
  Schedule s = start_schedule(kind, p, true);
  for (int r = 0; r < p.ranks; ++r) {
    detail::OneFOneBShape sh;
    sh.split_backward = true;
    if (h2) {
      // ZB-H2: enough warm-up forwards to cover the first backward's round trip (2P-1-2s),
      // steady step B, W, F, with W delayed by 2s micro-batches.
      sh.warmup = 2 * p.ranks - 1 - 2 * r;
      sh.w_delay = 2 * r;
      sh.forward_before_backward = false;
    } else {
      // ZB-H1: the 1F1B order (warm-up P-s-1) with W delayed by s micro-batches.
      sh.warmup = p.ranks - r - 1;
      sh.w_delay = r;
    }
    const auto mbs = detail::single_stage_sequence(r, p.microbatches);
    s.order[r] = detail::one_f_one_b_order(mbs, mbs, sh);
  }
  return s;
}

}  // namespace

Schedule generate_zb_h1(const ScheduleParams& p) { return zero_bubble(p, "zb-h1", false); }
Schedule generate_zb_h2(const ScheduleParams& p) { return zero_bubble(p, "zb-h2", true); }

}  // namespace ppsim
