#include "sim/zb_auto.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "base/error.h"
#include "schedules/registry.h"
#include "schedules/validate.h"
#include "sim/simulation.h"

namespace ppsim {
namespace {

// Memory is compared with a little slack so that w * k that should be a whole number (w = 0.1,
// k = 10) is not lost to rounding. Real differences are at least w's granularity, far above it.
constexpr double kMemoryTolerance = 1e-9;

enum Kind : int { kF = 0, kB = 1, kW = 2 };

// The heuristic's state for one setting of the switches. It places ops one by one, stage by stage,
// and keeps its own estimate of when each ends (ready = max(stage free, input arrives) + cost), so
// it can judge where a W fits without leaving a gap. Put order is each stage's order.
class Greedy {
 public:
  Greedy(int P, int M, const OpCosts& costs, const ZbMemoryModel& memory, const ZbGreedyFlags& flags)
      : P_(P), M_(M), costs_(costs), w_(memory.w_fraction), limit_(memory.in_flight_limit), flags_(flags),
        end_(P, 0), bubble_(P, 0), done_(static_cast<std::size_t>(3) * P * M, 0) {
    for (auto& c : count_) c.assign(P, 0);
    schedule_.kind = "zb-auto";
    schedule_.ranks = P;
    schedule_.microbatches = M;
    schedule_.split_backward = true;
    schedule_.rank_of_stage = interleaved_layout(P, 1);
    schedule_.order.resize(P);
  }

  ZbGreedyPlan run() {
    first_round();
    for (int i = 1; i < M_; ++i) steady_round(i);
    for (int j = 0; j < P_; ++j)  // the W's still owed
      while (pending_ws(j) > 0) put(j, kW);
    ZbGreedyPlan plan;
    for (int j = 0; j < P_; ++j)
      plan.longest_stage_span_ns =
          std::max(plan.longest_stage_span_ns, done(kW, j, M_ - 1) - done(kF, j, 0) + cost(kF, j));
    plan.schedule = std::move(schedule_);
    return plan;
  }

 private:
  TimeNs cost(Kind k, int j) const {
    return k == kF ? costs_.forward[j] : k == kB ? costs_.backward_input[j] : costs_.backward_weight[j];
  }
  TimeNs activation_hop(int j) const { return costs_.forward_transfer[j - 1]; }  // stage j-1 -> j
  TimeNs gradient_hop(int j) const { return costs_.backward_transfer[j]; }       // stage j+1 -> j
  TimeNs& done(Kind k, int j, int mb) { return done_[(static_cast<std::size_t>(k) * P_ + j) * M_ + mb]; }
  int next(Kind k, int j) const { return count_[k][j]; }
  int pending_ws(int j) const { return count_[kB][j] - count_[kW][j]; }

  // Stage j's memory after `extra_fs` more F's and `extra_ws` more W's (from the counts, so that
  // whole numbers stay exact).
  double memory(int j, int extra_fs, int extra_ws) const {
    const int f = count_[kF][j] + extra_fs, b = count_[kB][j], w = count_[kW][j] + extra_ws;
    return (f - b) + w_ * (b - w);
  }
  bool fits(double memory) const { return memory <= limit_ + kMemoryTolerance; }

  // Places the next op of kind k on stage j.
  void put(int j, Kind k) {
    const int mb = count_[k][j];
    const TimeNs on_time = end_[j] + cost(k, j);
    TimeNs ready = on_time;
    if (k == kF && j > 0) ready = std::max(ready, done(kF, j - 1, mb) + activation_hop(j) + cost(k, j));
    if (k == kB && j + 1 < P_) ready = std::max(ready, done(kB, j + 1, mb) + gradient_hop(j) + cost(k, j));
    if (count_[kF][j] > 0) {  // the wait counts as a bubble once the stage has started
      bubble_[j] += ready - on_time;
      max_bubble_ = std::max(max_bubble_, bubble_[j]);
    }
    end_[j] = done(k, j, mb) = ready;
    ++count_[k][j];
    static constexpr ActionKind kAction[] = {ActionKind::F, ActionKind::B, ActionKind::W};
    schedule_.order[j].push_back({kAction[k], j, mb});
  }

  // Before an F, W's until one more F fits within the limit.
  void make_room_for_forward(int j) {
    while (!fits(memory(j, 1, 0))) {
      if (pending_ws(j) == 0) throw std::logic_error("zb-auto: an F does not fit within the memory limit");
      put(j, kW);
    }
  }

  // Before an op whose input arrives at `arrives`: W's that end before it, then one more W if the
  // gap left is larger than the worst bubble so far allows (or always, with no_bubble_greedy).
  void fill_gap_with_ws(int j, TimeNs arrives) {
    while (pending_ws(j) > 0 && end_[j] + cost(kW, j) <= arrives) put(j, kW);
    if (pending_ws(j) > 0 && end_[j] < arrives &&
        (flags_.no_bubble_greedy || arrives - end_[j] > max_bubble_ - bubble_[j]))
      put(j, kW);
  }

  // Round 0: micro-batch 0 down the pipeline, as many extra warm-up forwards per stage as fit
  // before its first B's gradient arrives (estimated from the last stage back), smoothed so each
  // stage runs fewer than the one before it, then the first B's back up.
  void first_round() {
    for (int j = 0; j < P_; ++j) put(j, kF);
    std::vector<int> extra(P_, 0);
    TimeNs first_b_done = 0;  // when the first B of stage j+1 ends
    for (int j = P_ - 1; j >= 0; --j) {
      if (j == P_ - 1) {
        first_b_done = done(kF, j, 0) + cost(kB, j);
        continue;
      }
      const TimeNs gradient_arrives = first_b_done + gradient_hop(j);
      TimeNs busy_until = end_[j];
      while (next(kF, j) + extra[j] < M_ && fits(memory(j, extra[j] + 1, 0))) {
        if (flags_.allow_bubble_before_first_b ? busy_until + cost(kF, j) > gradient_arrives
                                               : busy_until >= gradient_arrives)
          break;
        busy_until += cost(kF, j);
        ++extra[j];
      }
      first_b_done = std::max(busy_until, gradient_arrives) + cost(kB, j);
    }
    // Smoothing. A stage may match the one before it only when both run all M forwards now. (The
    // authors' code lets a stage run all of them whenever it can; when the stage before it cannot,
    // that order deadlocks, which happens with unequal stage times.)
    auto runs_all = [&](int j) { return next(kF, j) + extra[j] >= M_; };
    for (int j = 1; j < P_; ++j)
      while (extra[j] > 0 && extra[j] >= extra[j - 1] && !(runs_all(j) && runs_all(j - 1))) --extra[j];
    for (int j = 0; j < P_; ++j)
      for (int k = 0; k < extra[j]; ++k) put(j, kF);
    for (int j = P_ - 1; j >= 0; --j) put(j, kB);
  }

  // Whether stage j takes an F in this round. With prioritize_b, a stage two or more F's ahead
  // of the next one skips its F when that would delay the B coming back from it.
  bool wants_forward(int j) const {
    if (next(kF, j) >= M_) return false;
    if (!flags_.prioritize_b || j + 1 >= P_ || next(kF, j) < next(kF, j + 1) + 2) return true;
    const TimeNs b_arrives = end_[j + 1] + cost(kF, j + 1) + cost(kB, j + 1) + gradient_hop(j);
    if (end_[j] >= b_arrives) return false;
    TimeNs ws_needed = 0;  // the W's an F would need first to fit within the limit
    for (int n = 0; !fits(memory(j, 1, n)) && n < pending_ws(j); ++n) ws_needed += cost(kW, j);
    if (end_[j] + cost(kF, j) + ws_needed <= b_arrives) return true;
    return b_arrives - end_[j] > max_bubble_ - bubble_[j];
  }

  // Round i: at most one F per stage, down the pipeline (a stage takes one only if the stage after
  // it does too), then the B of micro-batch i up it; W's go where they fill gaps or free memory.
  void steady_round(int i) {
    std::vector<bool> forward(P_);
    for (int j = 0; j < P_; ++j) forward[j] = wants_forward(j);
    for (int j = P_ - 2; j >= 0; --j) forward[j] = forward[j] && forward[j + 1];
    for (int j = 0; j < P_; ++j) {
      if (!forward[j]) continue;
      make_room_for_forward(j);
      if (j > 0) fill_gap_with_ws(j, done(kF, j - 1, next(kF, j)) + activation_hop(j));
      put(j, kF);
    }
    // B frees memory (1 - w >= 0), so the limit never needs W's before it.
    for (int j = P_ - 1; j >= 0; --j) {
      if (j + 1 < P_) fill_gap_with_ws(j, done(kB, j + 1, i) + gradient_hop(j));
      if (j == 0 && next(kF, 0) == M_)
        while (pending_ws(0) > 0) put(0, kW);
      put(j, kB);
    }
  }

  const int P_, M_;
  const OpCosts& costs_;
  const double w_, limit_;
  const ZbGreedyFlags flags_;
  std::vector<int> count_[3];  // per kind and stage: ops placed = the next micro-batch
  std::vector<TimeNs> end_;    // per stage: when its last placed op ends
  std::vector<TimeNs> bubble_; // per stage: waits since its first F
  TimeNs max_bubble_ = 0;      // the largest of bubble_
  std::vector<TimeNs> done_;   // per kind, stage, micro-batch: end time (0 until placed)
  Schedule schedule_;
};

void check_parameters(int P, int M, const OpCosts& costs, const ZbMemoryModel& memory) {
  if (P < 1 || M < 1) throw InputError("zb-auto needs stages >= 1 and microbatches >= 1");
  if (costs.stages() != P)
    throw InputError("zb-auto runs one stage per rank: it needs op times for " + std::to_string(P) + " stages (got " +
                     std::to_string(costs.stages()) + ")");
  if (memory.in_flight_limit < 1)
    throw InputError("zb-auto: in_flight_limit must be at least 1 micro-batch (got " +
                     std::to_string(memory.in_flight_limit) + ")");
  if (!(memory.w_fraction >= 0 && memory.w_fraction <= 1))
    throw InputError("zb-auto: the fraction of activations held from B to W must be in [0, 1] (got " +
                     std::to_string(memory.w_fraction) + ")");
}

}  // namespace

std::string describe(const ZbGreedyFlags& flags) {
  std::string on;
  auto add = [&](bool set, const char* name) {
    if (set) on += (on.empty() ? "" : ", ") + std::string(name);
  };
  add(flags.allow_bubble_before_first_b, "allow bubble before first B");
  add(flags.prioritize_b, "prioritise B");
  add(flags.no_bubble_greedy, "no-bubble greedy");
  return "greedy (" + (on.empty() ? std::string("none") : on) + ")";
}

std::vector<ZbGreedyFlags> zb_greedy_settings() {
  std::vector<ZbGreedyFlags> settings;
  for (bool allow : {true, false})
    for (bool prioritize : {true, false})
      for (bool no_bubble : {true, false}) settings.push_back({allow, prioritize, no_bubble});
  return settings;
}

ZbGreedyPlan zb_greedy(int P, int M, const OpCosts& costs, const ZbMemoryModel& memory, const ZbGreedyFlags& flags) {
  check_parameters(P, M, costs, memory);
  return Greedy(P, M, costs, memory, flags).run();
}

ZbGreedyPlan zb_greedy_best(int P, int M, const OpCosts& costs, const ZbMemoryModel& memory) {
  ZbGreedyPlan best;
  bool first = true;
  for (const ZbGreedyFlags& flags : zb_greedy_settings()) {
    ZbGreedyPlan plan = zb_greedy(P, M, costs, memory, flags);
    if (first || plan.longest_stage_span_ns < best.longest_stage_span_ns) best = std::move(plan);
    first = false;
  }
  return best;
}

double peak_memory(const Schedule& schedule, double w_fraction) {
  double peak = 0;
  for (const auto& rank : schedule.order) {
    double now = 0;
    for (const Action& a : rank) {
      switch (a.kind) {
        case ActionKind::F: now += 1; break;
        case ActionKind::B: now -= 1 - w_fraction; break;
        case ActionKind::W: now -= w_fraction; break;
        case ActionKind::BW: now -= 1; break;
      }
      peak = std::max(peak, now);
    }
  }
  return peak;
}

ZbAutoResult search_zb_auto(int P, int M, int in_flight_limit, double w_fraction, const OpCosts& costs) {
  const auto started = std::chrono::steady_clock::now();
  const ZbMemoryModel memory{in_flight_limit, w_fraction};
  check_parameters(P, M, costs, memory);

  // Candidates, in the order that breaks ties. The heuristic keeps within the limit by
  // construction; ZB-H1 and ZB-H2 only run when their order does.
  std::vector<std::pair<ZbAutoCandidate, Schedule>> candidates;
  auto add = [&](std::string name, Schedule s) {
    ZbAutoCandidate c{std::move(name)};
    c.peak_memory = peak_memory(s, w_fraction);
    c.fits = c.peak_memory <= in_flight_limit + kMemoryTolerance;
    candidates.push_back({std::move(c), std::move(s)});
  };
  for (const ZbGreedyFlags& flags : zb_greedy_settings()) {
    Schedule s = zb_greedy(P, M, costs, memory, flags).schedule;
    validate_schedule(s, "zb-auto");  // the engine needs a complete order
    add(describe(flags), std::move(s));
  }
  add("zb-h1", generate_zb_h1({P, M, 1}));
  add("zb-h2", generate_zb_h2({P, M, 1}));

  // Score each with the engine; keep the first shortest.
  ZbAutoResult result;
  int best = -1;
  for (int i = 0; i < static_cast<int>(candidates.size()); ++i) {
    auto& [c, schedule] = candidates[i];
    if (!c.fits) continue;
    c.makespan_ns = run_simulation(schedule, costs).metrics.makespan_ns;
    if (best < 0 || c.makespan_ns < candidates[best].first.makespan_ns) best = i;
  }
  for (const auto& [c, schedule] : candidates) result.candidates.push_back(c);
  result.candidate = candidates[best].first.name;
  result.makespan_ns = candidates[best].first.makespan_ns;
  result.schedule = std::move(candidates[best].second);
  result.schedule.kind = "zb-auto";
  result.search_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace ppsim
