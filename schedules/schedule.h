#pragma once
// A schedule: for each rank, the ordered list of actions it performs. Pure data with no notion of
// time; the DAG (sim/dag.h) adds dependencies and durations.
#include <cstdint>
#include <string>
#include <vector>

#include "schedules/action.h"

namespace ppsim {

struct Schedule {
  std::string kind;                       // registry name, e.g. "zb-h1", or "custom"
  int ranks = 0;                          // P
  int chunks = 1;                         // V, virtual stages per rank
  int microbatches = 0;                   // M
  bool split_backward = false;            // B and W apart (true) or fused BW (false)
  std::vector<int> rank_of_stage;         // virtual stage -> rank; size P*V (the layout)
  std::vector<std::vector<Action>> order; // order[rank] = actions in execution order
  // The model copies a micro-batch goes through. Chain c is the virtual stages
  // [chain_begin[c], chain_begin[c + 1]); micro-batch m goes through chain chain_of_microbatch[m]
  // only. Empty: one chain through every stage (all schedules but DualPipe's two copies).
  std::vector<int> chain_begin;
  std::vector<int> chain_of_microbatch;

  int stages() const { return static_cast<int>(rank_of_stage.size()); }
  // Model copies (chains): 1 but for DualPipe's 2.
  int copies() const { return chain_begin.empty() ? 1 : static_cast<int>(chain_begin.size()) - 1; }
  // Micro-batch m's stages are [first_stage(m), end_stage(m)), F in that order, backward reversed.
  int first_stage(int m) const { return chain_begin.empty() ? 0 : chain_begin[chain_of_microbatch[m]]; }
  int end_stage(int m) const { return chain_begin.empty() ? stages() : chain_begin[chain_of_microbatch[m] + 1]; }
  std::int64_t action_count() const {
    std::int64_t n = 0;
    for (const auto& r : order) n += static_cast<std::int64_t>(r.size());
    return n;
  }
};

// Megatron's interleaved layout: virtual stage c*P + p lives on rank p.
std::vector<int> interleaved_layout(int ranks, int chunks);

// The V-shaped layout of ZB-V, V-Half, V-Min and DualPipeV (two chunks per rank): rank r holds
// stages r and 2P-1-r, so the model goes down the ranks and back up; in general chunk c runs down
// the ranks when c is even and up when it is odd.
std::vector<int> v_layout(int ranks, int chunks = 2);

}  // namespace ppsim
