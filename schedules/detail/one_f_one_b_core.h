#pragma once
// The one 1F1B core that 1F1B, interleaved 1F1B, interleaved zero bubble, ZB-H1 and ZB-H2 share.
// A rank has a sequence of forwards and a sequence of backwards (its k-th F and k-th backward,
// as (stage, micro-batch)), and runs three phases:
//   warm-up    `warmup` forwards;
//   steady     one backward per step, with the next forward before it (1F1B) or after it (ZB-H2),
//              and, when B and W are split, the W of the backward `w_delay` steps back;
//   cool-down  the backwards left once the forwards ran out, then the W's still owed, oldest first.
#include <algorithm>
#include <vector>

#include "schedules/action.h"

namespace ppsim::detail {

struct OneFOneBShape {
  int warmup = 0;               // forwards before the first backward
  bool split_backward = false;  // B and W apart
  int w_delay = 0;              // W of backward k is issued right after backward k + w_delay
  bool forward_before_backward = true;  // steady step: F,B,W (1F1B) or B,W,F (ZB-H2)
};

// `forwards` and `backwards` give (stage, micro-batch) in issue order; their kinds are ignored.
inline std::vector<Action> one_f_one_b_order(const std::vector<Action>& forwards, const std::vector<Action>& backwards,
                                             const OneFOneBShape& sh) {
  const int forward_count = static_cast<int>(forwards.size());
  const int backward_count = static_cast<int>(backwards.size());
  const int warmup = std::min(sh.warmup, forward_count);
  std::vector<Action> out;
  out.reserve(static_cast<std::size_t>(forward_count) + (sh.split_backward ? 2 : 1) * backward_count);
  const ActionKind backward = sh.split_backward ? ActionKind::B : ActionKind::BW;
  auto emit = [&](const Action& a, ActionKind kind) { out.push_back({kind, a.stage, a.microbatch}); };
  int next_f = 0, next_w = 0;
  for (; next_f < warmup; ++next_f) emit(forwards[next_f], ActionKind::F);  // warm-up
  for (int i = 0; i < backward_count; ++i) {  // steady while forwards remain, then cool-down
    if (sh.forward_before_backward && next_f < forward_count) emit(forwards[next_f++], ActionKind::F);
    emit(backwards[i], backward);
    if (sh.split_backward && i - sh.w_delay >= 0) emit(backwards[next_w++], ActionKind::W);
    if (!sh.forward_before_backward && next_f < forward_count) emit(forwards[next_f++], ActionKind::F);
  }
  if (sh.split_backward)
    for (; next_w < backward_count; ++next_w) emit(backwards[next_w], ActionKind::W);
  return out;
}

// One stage's micro-batches 0 .. M-1, as the forward and backward sequences of a rank holding it.
inline std::vector<Action> single_stage_sequence(int stage, int microbatches) {
  std::vector<Action> seq;
  seq.reserve(microbatches);
  for (int m = 0; m < microbatches; ++m) seq.push_back({ActionKind::F, stage, m});
  return seq;
}

}  // namespace ppsim::detail
