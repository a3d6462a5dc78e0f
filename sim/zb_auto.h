#pragma once
// Zero bubble's automatic schedule (ZB-1p, ZB-2p: Qi et al., "Zero Bubble Pipeline Parallelism",
// 2023): an order picked for given op times under a memory limit. It needs op times, so it lives
// here and not among the timeless generators of schedules/. Two layers:
//   zb_greedy        the authors' greedy heuristic for one setting of its three switches;
//   search_zb_auto   tries every setting plus ZB-H1 and ZB-H2, simulates each with the engine and
//                    keeps the shortest makespan.
//
// Memory model, per stage, in units of one micro-batch's activations: an F adds 1, its B frees
// 1 - w and its W frees the remaining w (w = the fraction still held between B and W; w = 1 counts
// a micro-batch from its F to its W). The heuristic keeps every stage at or below N. ZB-1p is
// N = P (1F1B's peak), ZB-2p N = 2P.
#include <string>
#include <vector>

#include "base/time.h"
#include "schedules/schedule.h"
#include "sim/op_costs.h"

namespace ppsim {

struct ZbMemoryModel {
  int in_flight_limit = 1;  // N: the limit is N activations (N * memF)
  double w_fraction = 1.0;  // w, in [0, 1]
};

// The heuristic's three switches (the authors' names).
struct ZbGreedyFlags {
  bool allow_bubble_before_first_b = true;  // warm-up forwards may overrun the first B's arrival
  bool prioritize_b = true;                 // skip an F on a stage that runs ahead when a B is due
  bool no_bubble_greedy = true;             // fill a gap no longer than the worst bubble with a W
};

// "greedy (allow bubble before first B, prioritise B, no-bubble greedy)"; a switch that is off is
// left out, e.g. "greedy (no-bubble greedy)" or "greedy (none)".
std::string describe(const ZbGreedyFlags& flags);

// The 8 settings in the authors' search order (each switch true before false, nested in the
// order of the fields).
std::vector<ZbGreedyFlags> zb_greedy_settings();

struct ZbGreedyPlan {
  Schedule schedule;  // kind "zb-auto", one chunk per rank, B and W split
  // The authors' score: the largest per-stage span (start of its first F to end of its last W) in
  // the heuristic's own timing.
  TimeNs longest_stage_span_ns = 0;
};

// The authors' greedy heuristic (zb.py in sail-sg/zero-bubble-pipeline-parallelism, rewritten from
// its description), for P ranks with one stage each and M micro-batches, with the per-stage op
// times and hop times of `costs` (P stages). It gives the authors' orders exactly, except where
// theirs is broken: their warm-up lets a stage run all M forwards before its first B even when the
// stage before it cannot, which deadlocks (or loses ops) with unequal stage times; here a stage
// may match the one before it only when both run all M. Throws InputError for bad parameters
// (N < 1, w outside [0, 1], costs for another number of stages).
ZbGreedyPlan zb_greedy(int P, int M, const OpCosts& costs, const ZbMemoryModel& memory, const ZbGreedyFlags& flags);

// What the authors' own code returns: the first of the 8 settings with the smallest score (the
// authors' score, not the makespan: the two differ when later stages start later).
ZbGreedyPlan zb_greedy_best(int P, int M, const OpCosts& costs, const ZbMemoryModel& memory);

// The largest per-stage memory of a one-chunk split-backward order under the model.
double peak_memory(const Schedule& schedule, double w_fraction);

struct ZbAutoCandidate {
  std::string name;            // describe(flags), "zb-h1" or "zb-h2"
  bool fits = true;            // ZB-H1 / ZB-H2 only run when their peak memory is within N
  double peak_memory = 0;      // under the memory model
  TimeNs makespan_ns = 0;      // simulated; 0 when it does not fit
};

struct ZbAutoResult {
  Schedule schedule;                       // the winner
  std::string candidate;                   // its name
  TimeNs makespan_ns = 0;                  // its simulated makespan
  double search_seconds = 0;               // wall time of the whole search
  std::vector<ZbAutoCandidate> candidates; // every candidate, in the search order
};

// Runs the heuristic for the 8 settings, adds ZB-H1 and ZB-H2 when their peak memory fits within
// N, simulates every candidate with the engine (run_simulation) on `costs`, and keeps the shortest
// makespan; a tie goes to the earlier candidate (greedy settings in the authors' order, then
// zb-h1, zb-h2). Deterministic. Never worse than ZB-H1 when N >= P, nor ZB-H2 when N >= 2P-1.
ZbAutoResult search_zb_auto(int P, int M, int in_flight_limit, double w_fraction, const OpCosts& costs);

}  // namespace ppsim
