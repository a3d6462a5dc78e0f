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

  int stages() const { return static_cast<int>(rank_of_stage.size()); }
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
