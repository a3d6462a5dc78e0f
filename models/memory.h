#pragma once
// Per-rank memory: static bytes (parameters, gradients, optimizer state) and activation bytes per
// in-flight micro-batch of each chunk. The simulator measures the in-flight counts.
#include <cstdint>
#include <string>
#include <vector>

#include "models/stage_costs.h"

namespace ppsim {

struct RankMemory {
  int rank = 0;
  std::int64_t param_bytes = 0;
  std::int64_t grad_bytes = 0;
  std::int64_t optimizer_bytes = 0;
  std::vector<int> virtual_stages;                    // c*P + rank for c = 0..V-1
  std::vector<std::int64_t> activation_bytes_per_mb;  // per chunk, same order as virtual_stages

  std::int64_t static_bytes() const { return param_bytes + grad_bytes + optimizer_bytes; }
};

// The memory of each rank; virtual stage v lives on rank rank_of_stage[v] (empty: v mod P, the
// interleaved layout).
std::vector<RankMemory> rank_memory(const StageCostTable& table, const std::vector<int>& rank_of_stage = {});

// Static bytes plus in_flight[c] micro-batches of chunk c's activations. Pass the in-flight counts at
// the rank's peak (simultaneous counts); per-chunk maxima give an upper bound.
std::int64_t memory_bytes(const RankMemory& r, const std::vector<int>& in_flight_per_chunk);

// Throws InputError prefixed by `where` when some rank's parameters alone exceed `limit_bytes` (no
// schedule can fit that); exceeding it with gradients, optimizer or activations is a result
// (fits = false), not an input error.
void check_memory_limit(const std::vector<RankMemory>& ranks, std::int64_t limit_bytes, const std::string& where);

}  // namespace ppsim
