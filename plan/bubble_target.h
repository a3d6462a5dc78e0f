#pragma once
// The smallest micro-batch count M that brings a configuration's bubble under a target
// (`ppsim plan --bubble-target 5%`). A rank is busy a fraction 1 - b of the step only when its
// M x V micro-batch chunks outweigh the P - 1 slots of the pipeline's fill and drain, which gives
// the estimate M >= (P - 1)(1 - b) / (b V); the answer is then found by simulating M upwards from
// there (the schedule's real bubble, with this configuration's op costs), and Little's law
// L = lambda W at that M says how many micro-batches each rank must hold in flight to reach it.
#include <cstdint>
#include <string>

#include "plan/candidate.h"
#include "plan/plan_config.h"

namespace ppsim {

struct BubbleTarget {
  double target = 0;        // the bubble fraction asked for
  int estimate = 0;         // (P - 1)(1 - b) / (b V), rounded up
  bool found = false;       // some simulated M up to the search's end reaches it
  int microbatches = 0;     // the smallest simulated M with bubble_fraction <= target
  std::int64_t global_batch_size = 0;  // M x d x micro_batch_size
  double bubble_fraction = 0;
  double mean_in_flight = 0;    // L on the busiest-held rank (rank 0): lambda x W
  double arrival_rate_per_s = 0, mean_residence_ns = 0;
  int peak_in_flight = 0;
  int searched_up_to = 0;   // the largest M simulated
};

// Searches M for candidate `c` (its split, schedule, micro-batch size and policies kept).
BubbleTarget smallest_microbatches_for_bubble(const PlanConfig& plan, const Candidate& c, double target);

// "5%" or "0.05" -> 0.05; throws InputError naming `flag` unless in (0, 1).
double parse_fraction(const std::string& text, const std::string& flag);

std::string describe_bubble_target(const BubbleTarget& t, const Candidate& c);

}  // namespace ppsim
