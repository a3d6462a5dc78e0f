#include "models/memory.h"

#include <cassert>

#include "base/error.h"

namespace ppsim {

std::vector<RankMemory> rank_memory(const StageCostTable& table, const std::vector<int>& rank_of_stage) {
  const int P = table.pipeline_stages;
  std::vector<RankMemory> ranks(P);
  for (int p = 0; p < P; ++p) ranks[p].rank = p;
  for (int v = 0; v < static_cast<int>(table.stages.size()); ++v) {
    const StageCost& c = table.stages[v];
    RankMemory& r = ranks[rank_of_stage.empty() ? v % P : rank_of_stage[v]];
    r.param_bytes += c.param_bytes;
    r.grad_bytes += c.grad_bytes;
    r.optimizer_bytes += c.optimizer_bytes;
    r.virtual_stages.push_back(v);
    r.activation_bytes_per_mb.push_back(c.activation_bytes);
  }
  return ranks;
}

std::int64_t memory_bytes(const RankMemory& r, const std::vector<int>& in_flight_per_chunk) {
  assert(in_flight_per_chunk.size() == r.activation_bytes_per_mb.size());
  std::int64_t total = r.static_bytes();
  for (std::size_t c = 0; c < in_flight_per_chunk.size(); ++c)
    total += static_cast<std::int64_t>(in_flight_per_chunk[c]) * r.activation_bytes_per_mb[c];
  return total;
}

void check_memory_limit(const std::vector<RankMemory>& ranks, std::int64_t limit_bytes, const std::string& where) {
  if (limit_bytes <= 0) throw InputError(where + ": memory limit must be positive, got " + std::to_string(limit_bytes));
  for (const RankMemory& r : ranks) {
    if (r.param_bytes > limit_bytes)
      throw InputError(where + ": memory limit of " + std::to_string(limit_bytes) + " bytes is below rank " +
                       std::to_string(r.rank) + "'s parameters alone (" + std::to_string(r.param_bytes) +
                       " bytes); use more pipeline stages or a larger limit");
  }
}

}  // namespace ppsim
