#pragma once
// What a jittered training run replays (issue 15): the config keys `jitter:`, `replications:`,
// `straggler: {rank, slowdown}` and `seed:` on a training schedule.
#include <array>
#include <cstdint>
#include <optional>

#include "sim/jitter.h"

namespace ppsim {

// One rank slowed down: every compute op on it takes `slowdown` times its time (before jitter).
struct Straggler {
  int rank = 0;
  double slowdown = 1;
};

struct ReplicationSpec {
  JitterSpec jitter;
  int replications = 1;
  std::uint64_t seed = 1;
  std::optional<Straggler> straggler;
  // distribution: profile: each compute op's spread by its kind (ActionKind F, B, W, BW), from the
  // profile's transformer block (sim/replications.h, profile_spreads).
  std::array<Spread, 4> kind_spread{};
};

}  // namespace ppsim
