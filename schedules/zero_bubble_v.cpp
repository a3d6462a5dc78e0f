// ZB-V (Qi et al., "Zero Bubble Pipeline Parallelism", section 6; PyTorch's
// ScheduleZBVZeroBubble): two chunks per rank in a V (rank r holds stages r and
// 2P-1-r), B and W split. With equal F, B and W times it has no bubble once M
// >= 2P, at 1F1B's activation memory. The order is built for N = max(2P-1, M)
// micro-batches and the ones past M are left out (PyTorch's padding), so it is
// defined for every M.
#include <algorithm>

#include "base/error.h"
#include "schedules/registry.h"

namespace ppsim {

Schedule generate_zb_v(const ScheduleParams& p) {
  const int P = p.ranks, M = p.microbatches;
  if (p.chunks != 2)
    throw InputError(
        "schedule zb-v places two chunks per rank in a V: it "
        "needs chunks: 2 (chunks: " +
        std::to_string(p.chunks) + ")");
  Schedule s = start_schedule("zb-v", p, true);
  s.rank_of_stage = v_layout(P);
  const int n = std::max(2 * P - 1, M);
  for (int r = 0; r < P; ++r) {
    const int down = r,
              up = 2 * P - 1 - r;  // the rank's first chunk and second chunk
    int f_down = 0, f_up = 0, b_down = 0, b_up = 0;
    std::vector<Action> raw;
    auto push = [&](ActionKind k, int stage, int mb) { raw.push_back({k, stage, mb}); };
    // 1-2. Warm-up: forwards of the first chunk, then both chunks alternating.
    for (int i = 0; i < 2 * (P - r) - 1; ++i) push(ActionKind::F, down, f_down++);
    for (int i = 0; i < r; ++i) push(ActionKind::F, up, f_up++), push(ActionKind::F, down, f_down++);
    // 3. The second chunk's first F, B, W groups.
    for (int i = 0; i < P - r; ++i, ++b_up)
      push(ActionKind::F, up, f_up++), push(ActionKind::B, up, b_up), push(ActionKind::W, up, b_up);
    // 4. Steady: F, B, W of the first chunk, then of the second.
    while (f_up < f_down || f_down < n) {
      if (f_down < n) push(ActionKind::F, down, f_down++);
      push(ActionKind::B, down, b_down), push(ActionKind::W, down, b_down), ++b_down;
      push(ActionKind::F, up, f_up++), push(ActionKind::B, up, b_up), push(ActionKind::W, up, b_up), ++b_up;
    }
    // 5. Cool-down: the last B's, with the W's owed after them.
    int w_down = b_down, w_up = b_up;
    for (int i = 0; i < r; ++i) push(ActionKind::B, down, b_down++), push(ActionKind::B, up, b_up++);
    for (int i = 0; i < P - r; ++i) push(ActionKind::B, down, b_down++), push(ActionKind::W, down, w_down++);
    while (w_up < b_up) push(ActionKind::W, up, w_up++);
    while (w_down < b_down) push(ActionKind::W, down, w_down++);
    // The padding micro-batches M .. n-1 exist only to shape the order.
    for (const Action& a : raw)
      if (a.microbatch < M) s.order[r].push_back(a);
  }
  return s;
}

}  // namespace ppsim
