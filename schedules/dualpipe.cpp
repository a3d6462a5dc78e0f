// DeepSeek's DualPipe and DualPipeV (DeepSeek-V3 technical report,
// section 3.2.1; PyTorch's ScheduleDualPipeV). Every rank holds two chunks and
// feeds micro-batches into both ends of the pipeline: in steady state it runs,
// as one overlapped unit, the forward of one chunk beside the backward of the
// other, each hiding the other's communication.
// - DualPipe: two copies of the model; copy 0's stage s (label s) sits on rank
// s and takes
//   micro-batches 0..M/2-1, copy 1's stage s (label P+s) sits on rank P-1-s and
//   takes M/2..M-1.
// - DualPipeV: one copy folded into a V (rank r holds stages r and 2P-1-r),
// every micro-batch
//   through all 2P stages.
// Both run the same eight phases; a rank's phases depend on its distance from
// the end where its "first" chunk's micro-batches enter (DualPipe: the nearer
// end; DualPipeV: rank 0).
#include <deque>
#include <string>

#include "base/error.h"
#include "schedules/registry.h"

namespace ppsim {
namespace {

// One rank's order. `half` is the number of ranks one direction of
// micro-batches crosses before turning (DualPipe P/2, DualPipeV P), `pos` this
// rank's distance from its entry end, `per_chunk` the micro-batches each chunk
// takes; `first` and `second` the rank's two chunks (the one whose
// micro-batches enter near this rank first) with the first micro-batch each
// takes.
struct Chunk {
  int stage;
  int next_f, next_b;  // the micro-batches of its next forward and next backward
};

std::vector<Action> dual_rank_order(int half, int pos, int per_chunk, Chunk first, Chunk second) {
  std::vector<Action> out;
  std::deque<Action> weights_owed;  // input-gradient backwards whose W is still
                                    // to run, oldest first
  auto forward = [&](Chunk& c) { out.push_back({ActionKind::F, c.stage, c.next_f++}); };
  auto full_backward = [&](Chunk& c) { out.push_back({ActionKind::BW, c.stage, c.next_b++}); };
  auto input_backward = [&](Chunk& c) {
    out.push_back({ActionKind::B, c.stage, c.next_b});
    weights_owed.push_back({ActionKind::W, c.stage, c.next_b++});
  };
  auto weight_if_owed = [&] {
    if (weights_owed.empty()) return;
    out.push_back(weights_owed.front());
    weights_owed.pop_front();
  };
  auto overlapped = [&](Chunk& f,
                        Chunk& b) {  // F of one chunk beside the full backward of the other
    forward(f);
    out.back().overlapped_with_next = true;
    full_backward(b);
  };
  const int lead = half - pos - 1;  // ranks between this one and the turn
  // 1. Warm-up of the first chunk: forwards fill the way to the turn.
  for (int i = 0; i < 2 * lead; ++i) forward(first);
  // 2. Forwards of both chunks, alternating.
  for (int i = 0; i <= pos; ++i) forward(first), forward(second);
  // 3. The second chunk's first backwards, split (input gradient, then its
  // weight gradient).
  for (int i = 0; i < lead; ++i) input_backward(second), weight_if_owed(), forward(second);
  // 4. Steady state: overlapped units in both directions. The rank at the turn
  // runs its first
  //    pair apart (its second chunk's backward cannot start before that forward
  //    ends).
  for (int i = 0; i < per_chunk - 2 * half + pos + 1; ++i) {
    if (i == 0 && pos == half - 1)
      forward(first), full_backward(second);
    else
      overlapped(first, second);
    overlapped(second, first);
  }
  // 5. The second chunk's last backwards, each before an overlapped unit.
  for (int i = 0; i < lead; ++i) full_backward(second), overlapped(second, first);
  // 6. Backwards of both chunks; from the middle on, split so that W's fill the
  // drain.
  bool split = false;
  for (int i = 0; i <= pos; ++i) {
    if (i == (pos + 1) / 2 && pos % 2 == 1) split = true;
    split ? input_backward(second) : full_backward(second);
    if (i == (pos + 1) / 2 && pos % 2 == 0) split = true;
    split ? input_backward(first) : full_backward(first);
  }
  // 7. Drain: the weight gradients owed, between the first chunk's last
  // backwards.
  for (int i = 0; i < lead; ++i) weight_if_owed(), split ? input_backward(first) : full_backward(first);
  // 8. The weight gradients left.
  for (int i = 0; i <= pos; ++i) weight_if_owed();
  while (!weights_owed.empty()) weight_if_owed();
  return out;
}

}  // namespace

Schedule generate_dualpipe(const ScheduleParams& p) {
  const int P = p.ranks, M = p.microbatches;
  if (p.chunks != 2)
    throw InputError(
        "schedule dualpipe holds two model copies, one stage of "
        "each per rank: it needs chunks: 2 (chunks: " +
        std::to_string(p.chunks) + ")");
  if (P % 2 != 0 || M % 2 != 0 || M < 2 * P)
    throw InputError(
        "schedule dualpipe needs an even number of stages, an "
        "even number of microbatches, and "
        "microbatches >= 2 * stages (stages: " +
        std::to_string(P) + ", microbatches: " + std::to_string(M) + ")");
  Schedule s = start_schedule("dualpipe", p, true);
  s.rank_of_stage = v_layout(P);  // copy 1's stage s (label P+s) on rank P-1-s
  s.chain_begin = {0, P, 2 * P};
  s.chain_of_microbatch.resize(M);
  for (int m = 0; m < M; ++m) s.chain_of_microbatch[m] = m < M / 2 ? 0 : 1;
  const int half = P / 2;
  for (int r = 0; r < P; ++r) {
    const Chunk copy0{r, 0, 0}, copy1{2 * P - 1 - r, M / 2, M / 2};
    const bool near_copy0 = r < half;  // copy 0's micro-batches enter at rank 0, copy 1's at rank P-1
    s.order[r] = dual_rank_order(half, near_copy0 ? r : P - 1 - r, M / 2, near_copy0 ? copy0 : copy1,
                                 near_copy0 ? copy1 : copy0);
  }
  return s;
}

Schedule generate_dualpipe_v(const ScheduleParams& p) {
  const int P = p.ranks, M = p.microbatches;
  if (p.chunks != 2)
    throw InputError(
        "schedule dualpipe-v folds the model into a V, two chunks "
        "per rank: it needs chunks: 2 (chunks: " +
        std::to_string(p.chunks) + ")");
  if (M < 2 * P)
    throw InputError(
        "schedule dualpipe-v needs at least as many microbatches "
        "as virtual stages, 2 * stages (as "
        "PyTorch's DualPipeV): microbatches: " +
        std::to_string(M) + ", stages: " + std::to_string(P) + "; use microbatches >= " + std::to_string(2 * P));
  Schedule s = start_schedule("dualpipe-v", p, true);
  s.rank_of_stage = v_layout(P);
  for (int r = 0; r < P; ++r) s.order[r] = dual_rank_order(P, r, M, {r, 0, 0}, {2 * P - 1 - r, 0, 0});
  return s;
}

}  // namespace ppsim
