#pragma once
// Shared helpers for the simulation-core tests.
#include <string>

#include "schedules/registry.h"
#include "schedules/validate.h"
#include "sim/op_costs.h"
#include "sim/simulation.h"

namespace ppsim::test {

inline SimulationResult simulate_uniform(const std::string& kind, int P, int M, int V, TimeNs f, TimeNs b, TimeNs w,
                                         TimeNs transfer = 0) {
  Schedule s = generate_schedule(kind, {P, M, V});
  validate_schedule(s, kind);
  return run_simulation(std::move(s), uniform_costs(P * V, f, b, w, transfer));
}

}  // namespace ppsim::test
