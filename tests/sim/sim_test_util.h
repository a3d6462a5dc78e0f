#pragma once
// Shared helpers for the simulation-core tests.
#include <random>
#include <string>

#include "schedules/registry.h"
#include "schedules/validate.h"
#include "sim/op_costs.h"
#include "sim/simulation.h"

namespace ppsim::test {

// Uneven random costs (seeded) so that ties and contention are exercised.
inline OpCosts random_costs(int S, unsigned seed, TimeNs transfer_max) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<TimeNs> d(100, 5000), x(0, transfer_max);
  OpCosts c;
  for (int s = 0; s < S; ++s) {
    c.forward.push_back(d(rng));
    c.backward_input.push_back(d(rng));
    c.backward_weight.push_back(d(rng));
  }
  for (int s = 0; s + 1 < S; ++s) {
    c.forward_transfer.push_back(x(rng));
    c.backward_transfer.push_back(x(rng));
  }
  return c;
}

inline SimulationResult simulate_uniform(const std::string& kind, int P, int M, int V, TimeNs f, TimeNs b, TimeNs w,
                                         TimeNs transfer = 0) {
  Schedule s = generate_schedule(kind, {P, M, V});
  validate_schedule(s, kind);
  return run_simulation(std::move(s), uniform_costs(P * V, f, b, w, transfer));
}

}  // namespace ppsim::test
