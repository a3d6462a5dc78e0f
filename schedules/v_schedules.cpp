// V-Half and V-Min (Qi et al., "Pipeline Parallelism with Controllable Memory", 2024), built the
// way the authors' generator builds them. Two chunks per rank in the V placement (rank r holds
// stages r and 2P-1-r); B and W are split. V-Half holds about half of 1F1B's activations with half
// its bubble; V-Min about a third with two thirds of the bubble.
//
// The construction works on integer slots, one op per slot per rank (a unit-time picture, no real
// time). Per rank there are four op types plus the W's:
//   F0  forward of stage r            F1  forward of stage 2P-1-r
//   B0  input gradient of stage 2P-1-r  B1  input gradient of stage r
// (B0 is the first backward to run on a rank, so it belongs to the second chunk.) Phases:
//   1. building block: each type repeats every 6 slots at a fixed offset per rank;
//   2. reorder with W's: W's fill the empty slots; then each op of the warm-up (before rank 0's
//      first B1) and of the cool-down (from the first F of the last micro-batch on) moves to the
//      earliest free slot its dependencies allow where the rank's peak memory does not grow; the
//      steady state between them stays as it is;
//   3. reorder without W's (one owed W runs in each empty slot): the same for the cool-down only;
//   4. the W's go into the empty slots, kept apart per chunk; the rank's order is its slots in order.
// Each reorder ends by squeezing: every op moves to the earliest slot its dependencies and its
// rank's order allow (unit costs, no transfer time).
//
// Any P and M work (the authors' generator runs for every shape too); the memory and bubble
// figures of the paper hold once M >= 2P. Cost: the reorders try slots against the rank's memory,
// about O(P^2 M) slot visits (P = 32, M = 512: 0.1 s; P = 128, M = 4096: 6 s).
#include <algorithm>
#include <climits>
#include <functional>
#include <queue>
#include <stdexcept>
#include <tuple>

#include "base/error.h"
#include "schedules/registry.h"

namespace ppsim {
namespace {

// The op types in the order the construction ranks them when it must choose.
enum Type : int { kF0 = 0, kF1 = 1, kB0 = 2, kB1 = 3, kW0 = 4, kW1 = 5 };
constexpr int kOpTypes = 4;  // F0, F1, B0, B1; the W lists come after them
constexpr int kNoOp = -1;

// One rank's plan: slots[type][k] is the slot of the type's k-th op (micro-batch k for F and B).
// Every list is increasing, and no two ops of a rank share a slot.
using RankPlan = std::vector<std::vector<int>>;
using Plan = std::vector<RankPlan>;

int last_slot(const RankPlan& plan) {
  int last = -1;
  for (const auto& list : plan)
    if (!list.empty()) last = std::max(last, list.back());
  return last;
}

// slot -> type of the op there, or kNoOp.
std::vector<int> types_by_slot(const RankPlan& plan) {
  std::vector<int> at(static_cast<std::size_t>(last_slot(plan)) + 1, kNoOp);
  for (int t = 0; t < static_cast<int>(plan.size()); ++t)
    for (int slot : plan[t]) {
      if (at[slot] != kNoOp) throw std::logic_error("v schedule: two ops share a slot");
      at[slot] = t;
    }
  return at;
}

// Phase 1: the building block. The offsets put a larger gap at the turn of the V when P is a
// multiple of 3 (V-Min) or 2 (V-Half), so that no two types of a rank collide modulo 6.
Plan building_block(int P, int M, bool half) {
  Plan plan(P, RankPlan(kOpTypes));
  for (int r = 0; r < P; ++r) {
    int base[kOpTypes];
    if (half) {
      const int gap = P % 2 == 0 ? 3 : 0;
      base[kF0] = 2 * r;
      base[kF1] = 3 * P - 2 - r;
      base[kB0] = 3 * P + gap + 2 * r - 1;
      base[kB1] = 6 * P + gap - 2 - r;
    } else {
      const int gap = P % 3 == 0 ? 2 : 0;
      base[kF0] = r;
      base[kF1] = 2 * P - 1 - r;
      base[kB0] = 2 * P + gap + r;
      base[kB1] = 4 * P + gap - 1 - r;
    }
    for (int t = 0; t < kOpTypes; ++t)
      for (int k = 0; k < M; ++k) plan[r][t].push_back(base[t] + 6 * k);
  }
  return plan;
}

// Adds the W's to a plan of F's and B's: each empty slot takes one W owed by an earlier B; the W's
// still owed after the last op follow it. With `split` the W's of the two chunks are two lists
// (W0 after B0, W1 after B1) and an empty slot prefers W0; otherwise one list, in B order.
RankPlan with_ws(RankPlan plan, bool split) {
  const std::vector<int> at = types_by_slot(plan);
  plan.resize(kOpTypes + (split ? 2 : 1));
  int owed[2] = {0, 0};
  int slot = 0;
  for (; slot < static_cast<int>(at.size()); ++slot) {
    if (at[slot] == kB0 || at[slot] == kB1) {
      ++owed[split ? at[slot] - kB0 : 0];
    } else if (at[slot] == kNoOp) {
      for (int w = 0; w < 2; ++w)
        if (owed[w] > 0) {
          plan[kW0 + w].push_back(slot);
          --owed[w];
          break;
        }
    }
  }
  for (int w = 0; w < 2; ++w)
    for (; owed[w] > 0; --owed[w]) plan[kW0 + w].push_back(slot++);
  return plan;
}

// The rank's peak activation count, walking its slots (slot -> type) in order: an F adds one, a
// W frees one. A plan without W lists (`has_ws` false) runs one owed W in each empty slot. Stops
// early once the count exceeds `stop_above`.
int peak_memory(const std::vector<int>& types_at, bool has_ws, int stop_above = INT_MAX) {
  int now = 0, peak = 0, owed = 0;
  for (int type : types_at) {
    if (type == kF0 || type == kF1) {
      ++now;
    } else if (type == kB0 || type == kB1) {
      ++owed;
    } else if (type >= kW0) {
      --now;
    } else if (!has_ws && owed > 0) {
      --now;
      --owed;
    }
    peak = std::max(peak, now);
    if (peak > stop_above) break;
  }
  return peak;
}

// One op of a plan: rank, type, index in its list.
struct OpRef {
  int rank, type, index;
};

// Calls visit(op) for every op of the plan in increasing slot, ties by rank, then type (the
// order the authors' construction walks). `visit` may move the op it is given, never a later one.
void for_each_in_slot_order(Plan& plan, const std::function<void(const OpRef&)>& visit) {
  using Head = std::tuple<int, int, int, int>;  // slot, rank, type, index
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
  for (int r = 0; r < static_cast<int>(plan.size()); ++r)
    for (int t = 0; t < static_cast<int>(plan[r].size()); ++t)
      if (!plan[r][t].empty()) heads.emplace(plan[r][t][0], r, t, 0);
  while (!heads.empty()) {
    const auto [slot, r, t, k] = heads.top();
    heads.pop();
    visit({r, t, k});
    if (k + 1 < static_cast<int>(plan[r][t].size())) heads.emplace(plan[r][t][k + 1], r, t, k + 1);
  }
}

// The cross-rank predecessor of an F or B: F0 and B0 flow down the ranks, F1 and B1 up.
int cross_rank_predecessor(int type, int rank, int P) {
  if ((type == kF0 || type == kB0) && rank > 0) return rank - 1;
  if ((type == kF1 || type == kB1) && rank + 1 < P) return rank + 1;
  return kNoOp;
}

// Squeeze: every op starts as soon as the op before it on its rank, the previous micro-batch of
// its type, its cross-rank predecessor and (for F1, B0, B1) the type before it in the same
// micro-batch have ended, all with unit cost and no transfer time. Returns the start slots.
Plan squeeze(Plan plan) {
  const int P = static_cast<int>(plan.size());
  Plan end(P);
  for (int r = 0; r < P; ++r) {
    end[r].resize(plan[r].size());
    for (std::size_t t = 0; t < plan[r].size(); ++t) end[r][t].assign(plan[r][t].size(), 0);
  }
  std::vector<int> rank_free(P, 0);
  Plan start = plan;
  for_each_in_slot_order(plan, [&](const OpRef& op) {
    int ready = rank_free[op.rank];
    if (op.index > 0) ready = std::max(ready, end[op.rank][op.type][op.index - 1]);
    if (const int pred = cross_rank_predecessor(op.type, op.rank, P); pred != kNoOp)
      ready = std::max(ready, end[pred][op.type][op.index]);
    if (op.type > kF0 && op.type < kOpTypes) ready = std::max(ready, end[op.rank][op.type - 1][op.index]);
    start[op.rank][op.type][op.index] = ready;
    end[op.rank][op.type][op.index] = rank_free[op.rank] = ready + 1;
  });
  return start;
}

// Phases 2 and 3: one reorder pass. Walking ops in slot order, it keeps everything up to the
// steady state in place (the first B1 of rank 0 opens it, the first F of the last micro-batch
// closes it), and the warm-up too when `with_w` is false; every other op moves to the earliest
// free slot after its dependencies where its rank's peak memory stays within the plan's peak.
Plan reorder(Plan plan, bool with_w, int M) {
  const int P = static_cast<int>(plan.size());
  if (with_w)
    for (auto& rank : plan) rank = with_ws(std::move(rank), false);
  // Per rank, slot -> type, kept up to date as ops move; a slot is taken once its op is visited.
  std::vector<std::vector<int>> types_at(P);
  std::vector<std::vector<bool>> taken(P);
  int memory_cap = 0;
  for (int r = 0; r < P; ++r) {
    types_at[r] = types_by_slot(plan[r]);
    taken[r].assign(types_at[r].size(), false);
    memory_cap = std::max(memory_cap, peak_memory(types_at[r], with_w));
  }
  enum { kWarmup, kSteady, kCooldown } phase = kWarmup;
  for_each_in_slot_order(plan, [&](const OpRef& op) {
    RankPlan& rank = plan[op.rank];
    std::vector<int>& at = types_at[op.rank];
    int& slot = rank[op.type][op.index];
    if (phase == kWarmup && op.type == kB1 && op.rank == 0) phase = kSteady;
    const bool keep = phase == kSteady || (phase == kWarmup && !with_w);
    if (phase == kSteady && op.type == kF0 && op.index == M - 1) phase = kCooldown;
    if (!keep) {
      // The earliest slot its dependencies allow (all already placed: they come earlier in slot order).
      int after = -1;
      if (const int pred = cross_rank_predecessor(op.type, op.rank, P); pred != kNoOp)
        after = std::max(after, plan[pred][op.type][op.index]);
      if (op.type > kF0 && op.type < kOpTypes) after = std::max(after, rank[op.type - 1][op.index]);
      if (op.type == kW0) {  // the W of the rank's index-th backward, either chunk
        std::vector<int> bs = rank[kB0];
        bs.insert(bs.end(), rank[kB1].begin(), rank[kB1].end());
        std::nth_element(bs.begin(), bs.begin() + op.index, bs.end());
        after = std::max(after, bs[op.index]);
      }
      if (op.index > 0) after = std::max(after, rank[op.type][op.index - 1]);
      // Try the free slots in between, earliest first.
      const int original = slot;
      at[original] = kNoOp;
      for (int s = after + 1; s < original; ++s) {
        if (taken[op.rank][s]) continue;
        at[s] = op.type;
        if (peak_memory(at, with_w, memory_cap) <= memory_cap) {
          slot = s;
          break;
        }
        at[s] = kNoOp;
      }
      at[slot] = op.type;
    }
    taken[op.rank][slot] = true;
  });
  if (!with_w)
    for (auto& rank : plan) rank = with_ws(std::move(rank), false);
  return squeeze(std::move(plan));
}

// The rank's actions in slot order.
std::vector<Action> rank_order(const RankPlan& plan, int rank, int P) {
  const std::vector<int> at = types_by_slot(plan);
  static constexpr ActionKind kKind[] = {ActionKind::F, ActionKind::F, ActionKind::B,
                                         ActionKind::B, ActionKind::W, ActionKind::W};
  const int first_chunk = rank, second_chunk = 2 * P - 1 - rank;
  int next[kOpTypes + 2] = {};
  std::vector<Action> order;
  for (int type : at) {
    if (type == kNoOp) continue;
    const bool second = type == kF1 || type == kB0 || type == kW0;
    order.push_back({kKind[type], second ? second_chunk : first_chunk, next[type]++});
  }
  return order;
}

Schedule v_schedule(const ScheduleParams& p, const char* kind, bool half) {
  if (p.chunks != 2)
    throw InputError(std::string("schedule ") + kind +
                     " runs two chunks per rank in the V placement (rank r holds stages r and 2P-1-r), so chunks must "
                     "be 2 (chunks: " + std::to_string(p.chunks) + ")");
  const int P = p.ranks, M = p.microbatches;
  Plan plan = building_block(P, M, half);
  plan = reorder(std::move(plan), true, M);  // phase 2
  for (auto& rank : plan) rank.resize(kOpTypes);
  plan = reorder(std::move(plan), false, M);  // phase 3
  Schedule s = start_schedule(kind, p, true);
  s.rank_of_stage = v_layout(P, 2);
  for (int r = 0; r < P; ++r) {
    plan[r].resize(kOpTypes);
    s.order[r] = rank_order(with_ws(std::move(plan[r]), true), r, P);  // phase 4
  }
  return s;
}

}  // namespace

Schedule generate_v_half(const ScheduleParams& p) { return v_schedule(p, "v-half", true); }
Schedule generate_v_min(const ScheduleParams& p) { return v_schedule(p, "v-min", false); }

}  // namespace ppsim
