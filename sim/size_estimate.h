#pragma once
// How big a simulation will be, known from (schedule, P, M, V) before anything is built, so that
// a job that cannot fit is refused within a second instead of failing in an allocator.
#include <cstdint>
#include <string>

namespace ppsim {

struct SimulationSize {
  std::int64_t compute_ops = 0;  // actions: P*V*M times 2 (fused backward) or 3 (B and W apart)
  std::int64_t transfers = 0;    // at most an activation and a gradient per stage boundary and micro-batch
  std::int64_t bytes = 0;        // peak memory of a `ppsim simulate` process, estimated
  std::int64_t ops() const { return compute_ops + transfers; }
};

// Peak bytes per op of a whole simulate run (schedule, DAG, engine, timeline, metrics), measured on
// ZB-H1 at P = 128, M = 4096 (docs/performance.md); and the fixed part.
inline constexpr std::int64_t kSimulationBytesPerOp = 160;
inline constexpr std::int64_t kSimulationFixedBytes = std::int64_t{64} << 20;

// `schedule` is a registry name or "custom" (counted as B and W apart: the larger case).
SimulationSize estimate_simulation_size(const std::string& schedule, int ranks, int microbatches, int chunks);

// Throws TooLargeError when the ops would not fit 32-bit op ids or the bytes exceed `budget`,
// naming the op count, the bytes needed, the budget and `flag` (how to raise it). `what` says
// which job ("schedule zb-h1 with P = ..., M = ..., V = ...").
void check_fits(const SimulationSize& size, std::int64_t budget, const std::string& what, const std::string& flag);

}  // namespace ppsim
