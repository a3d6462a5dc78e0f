#pragma once
// The one 1F1B core that 1F1B, ZB-H1 and ZB-H2 share (one chunk per rank). A rank runs three
// phases: `warmup` forwards; a steady phase of one backward per micro-batch with the next forward
// either before it (1F1B order) or after it (ZB-H2 order); then the W's still owed.
#include <algorithm>
#include <vector>

#include "schedules/action.h"

namespace ppsim::detail {

struct OneFOneBShape {
  int stage = 0;
  int microbatches = 0;
  int warmup = 0;              // forwards before the first backward
  bool split_backward = false; // B and W apart
  int w_delay = 0;             // W of micro-batch i is issued right after B of i + w_delay
  bool forward_before_backward = true;  // steady step: F,B,W (1F1B) or B,W,F (ZB-H2)
};

inline std::vector<Action> one_f_one_b_order(const OneFOneBShape& sh) {
  const int M = sh.microbatches;
  std::vector<Action> out;
  out.reserve(static_cast<std::size_t>(sh.split_backward ? 3 : 2) * M);
  const ActionKind backward = sh.split_backward ? ActionKind::B : ActionKind::BW;
  int next_f = 0;
  int next_w = 0;
  const int warmup = std::min(sh.warmup, M);
  for (; next_f < warmup; ++next_f) out.push_back({ActionKind::F, sh.stage, next_f});
  for (int i = 0; i < M; ++i) {  // steady + cool-down: backward i
    if (sh.forward_before_backward && next_f < M) out.push_back({ActionKind::F, sh.stage, next_f++});
    out.push_back({backward, sh.stage, i});
    if (sh.split_backward && i - sh.w_delay >= 0) out.push_back({ActionKind::W, sh.stage, next_w++});
    if (!sh.forward_before_backward && next_f < M) out.push_back({ActionKind::F, sh.stage, next_f++});
  }
  if (sh.split_backward)
    for (; next_w < M; ++next_w) out.push_back({ActionKind::W, sh.stage, next_w});
  return out;
}

}  // namespace ppsim::detail
