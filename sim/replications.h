#pragma once
// Jitter on a training schedule (issue 15): R seeded replays of one DAG, each op's time drawn around
// its deterministic one, and which ranks and ops cost the most through their variability (the
// sync-point hunt). Replays run on threads; each replication has its own random stream (seed,
// replication index) and the sums are integers, so a seed gives the same result on any thread count.
#include <cstdint>
#include <optional>
#include <vector>

#include "models/profile.h"
#include "sim/dag.h"
#include "sim/jitter.h"
#include "sim/replication_spec.h"

namespace ppsim {

struct ReplicationResult {
  TimeNs deterministic_makespan = 0;   // the DAG's own times, no straggler
  std::vector<TimeNs> makespans;       // per replication, in replication order
  double mean_ns = 0;
  TimeNs p50 = 0, p99 = 0, max = 0;    // nearest-rank
  // The mean over replications of (drawn - nominal time) summed over the ops of the replay's
  // critical path, per rank (compute ops) and per op: how much each one's variability lengthened the
  // makespan. Links: `link_excess_ns`.
  std::vector<double> rank_excess_ns;
  std::vector<double> op_excess_ns;
  double link_excess_ns = 0;
};

// The spreads distribution: profile draws from: F, B and W from the profile's transformer block
// (p10 / median, p90 / median of its forward, backward_input and backward_weight); a fused BW
// from B and W taken together (p10_B + p10_W over median_B + median_W: quantiles of comonotone
// times add). A timing without a median gives no spread.
std::array<Spread, 4> profile_spreads(const Profile& profile);

// Compute ops are jittered (and straggled); transfers and training-step ops keep their times.
// `threads` 0: the hardware's count.
ReplicationResult run_replications(const Dag& dag, const ReplicationSpec& spec, int threads = 0);

}  // namespace ppsim
