// Megatron's interleaved 1F1B (Narayanan et al., 2021). Rank p holds virtual stages p, p+P, ...;
// forwards take micro-batches in groups of P through the rank's chunk 0, then chunk 1, ...;
// backwards take the same groups through the chunks in reverse.
#include <algorithm>

#include "schedules/registry.h"
#include "base/error.h"

namespace ppsim {

Schedule generate_interleaved_1f1b(const ScheduleParams& p) {
  const int P = p.ranks, M = p.microbatches, V = p.chunks;
  if (M % P != 0)
    throw InputError("schedule interleaved-1f1b needs microbatches to be a multiple of stages "
                     "(microbatches: " + std::to_string(M) + ", stages: " + std::to_string(P) +
                     "); accepted: microbatches = k * " + std::to_string(P));
  Schedule s = start_schedule("interleaved-1f1b", p, false);
  const int total = M * V;  // forwards (and backwards) per rank
  for (int r = 0; r < P; ++r) {
    // k-th forward/backward on this rank -> (virtual stage, micro-batch).
    auto nth = [&](int k, bool backward) {
      const int group = k / (P * V), within = k % (P * V);
      const int chunk = backward ? V - 1 - within / P : within / P;
      return Action{backward ? ActionKind::BW : ActionKind::F, chunk * P + r, group * P + within % P};
    };
    auto& out = s.order[r];
    out.reserve(static_cast<std::size_t>(2) * total);
    const int warmup = std::min(2 * (P - r - 1) + (V - 1) * P, total);
    int next_f = 0, next_b = 0;
    for (; next_f < warmup; ++next_f) out.push_back(nth(next_f, false));
    while (next_f < total) {  // steady: one forward, one backward
      out.push_back(nth(next_f++, false));
      out.push_back(nth(next_b++, true));
    }
    for (; next_b < total; ++next_b) out.push_back(nth(next_b, true));  // cool-down
  }
  return s;
}

}  // namespace ppsim
