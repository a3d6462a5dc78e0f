// Megatron's interleaved 1F1B (Narayanan et al., 2021) and PyTorch's interleaved zero bubble, as
// torch.distributed.pipelining orders them. Rank p holds virtual stages p, p+P, ...; micro-batches
// go in rounds of Q: the rank's forwards take a round through its chunk 0, then chunk 1, ..., and
// its backwards take the rounds through the chunks in reverse. Both run on the shared 1F1B core.
#include <algorithm>

#include "base/error.h"
#include "schedules/detail/one_f_one_b_core.h"
#include "schedules/registry.h"

namespace ppsim {
namespace {

// PyTorch's rounds: R = max(1, M / P) rounds of Q = M / R micro-batches; M must divide into them.
int round_size(const ScheduleParams& p, const char* kind) {
  const int P = p.ranks, M = p.microbatches;
  auto rounds = [&](int m) { return std::max(1, m / P); };
  const int R = rounds(M);
  if (M % R != 0) {
    int below = M - 1, above = M + 1;
    while (below > 0 && below % rounds(below) != 0) --below;
    while (above % rounds(above) != 0) ++above;
    throw InputError(std::string("schedule ") + kind + " runs micro-batches in rounds of M / R, R = max(1, M / P) = " +
                     std::to_string(R) + " (as PyTorch's schedule), so microbatches must be a multiple of " +
                     std::to_string(R) + " (microbatches: " + std::to_string(M) + ", stages: " + std::to_string(P) +
                     "); nearest accepted: " + (below > 0 ? std::to_string(below) + " or " : "") + std::to_string(above));
  }
  return M / R;
}

// Rank r's forwards (or backwards) in issue order: the op-th takes the next micro-batch of chunk
// (op / Q) mod V (of V-1 minus that for backwards).
std::vector<Action> chunk_rounds(const ScheduleParams& p, int r, int q, bool backward) {
  const int P = p.ranks, M = p.microbatches, V = p.chunks;
  std::vector<int> next(V, 0);
  std::vector<Action> seq;
  seq.reserve(static_cast<std::size_t>(M) * V);
  for (int op = 0; op < M * V; ++op) {
    const int round_chunk = (op / q) % V;
    const int chunk = backward ? V - 1 - round_chunk : round_chunk;
    seq.push_back({ActionKind::F, chunk * P + r, next[chunk]++});
  }
  return seq;
}

Schedule interleaved(const ScheduleParams& p, const char* kind, bool zero_bubble) {
  const int P = p.ranks, M = p.microbatches, V = p.chunks;
  const int q = round_size(p, kind);
  Schedule s = start_schedule(kind, p, zero_bubble);
  for (int r = 0; r < P; ++r) {
    detail::OneFOneBShape sh;
    // Warm-up: the first round through every chunk but the last, plus the time for a round trip
    // to the last rank (two steps per rank for 1F1B, one when W can fill the second).
    sh.warmup = std::min((V - 1) * q + (zero_bubble ? 1 : 2) * (P - 1 - r), M * V);
    sh.split_backward = zero_bubble;
    sh.w_delay = r;  // zero bubble: rank r holds back its first r W's
    s.order[r] = detail::one_f_one_b_order(chunk_rounds(p, r, q, false), chunk_rounds(p, r, q, true), sh);
  }
  return s;
}

}  // namespace

Schedule generate_interleaved_1f1b(const ScheduleParams& p) { return interleaved(p, "interleaved-1f1b", false); }
Schedule generate_interleaved_zb(const ScheduleParams& p) { return interleaved(p, "interleaved-zb", true); }

}  // namespace ppsim
