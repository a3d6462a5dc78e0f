#pragma once
// Placement of transformer blocks on virtual pipeline stages (model chunks), in model order.
// With P ranks and V chunks per rank there are P*V virtual stages; virtual stage c*P + p lives on
// rank p (the simulator places them; everything here works in virtual-stage order).
#include <string>
#include <vector>

#include "base/time.h"

namespace ppsim {

struct Partition {
  std::vector<int> layers_per_stage;  // blocks on each virtual stage; size P*V
  int embedding_stage = 0;            // virtual stage holding the embedding
  int head_stage = -1;                // virtual stage holding norm + LM head + loss; -1 = the last

  int virtual_stages() const { return static_cast<int>(layers_per_stage.size()); }
  int head() const { return head_stage < 0 ? virtual_stages() - 1 : head_stage; }
  int first_layer(int stage) const;  // index of the stage's first block
};

// Checks an explicit partition for a model of `model_layers` blocks on `stages` x `chunks` virtual
// stages: one entry per virtual stage, entries summing to the model's blocks, none negative, and an
// empty stage only where it holds the embedding or the head. Throws InputError prefixed by `where`
// (e.g. "run.yaml:12:3: partition") listing the offending values.
void validate_partition(const Partition& p, int model_layers, int stages, int chunks, const std::string& where);

// Exact most-balanced minimum-bottleneck split of contiguous blocks over `virtual_stages` stages,
// each with at least one block. A stage's time is the sum of its blocks' times plus
// stage_extra[stage] (the embedding or head, empty = none). It returns a split whose stage times,
// sorted descending, are lexicographically smallest (leximin): the smallest bottleneck, then the
// fewest stages at it / the smallest second-slowest stage, and so on. Among splits with that same
// multiset of stage times it returns the one whose stage sizes are lexicographically smallest
// (earlier stages smaller). Throws InputError prefixed by `where` when there are fewer blocks than
// stages.
std::vector<int> min_bottleneck_split(const std::vector<TimeNs>& block_times, const std::vector<TimeNs>& stage_extra,
                                      int virtual_stages, const std::string& where);

// The largest stage time of a split (same stage-time definition as above).
TimeNs split_bottleneck(const std::vector<int>& sizes, const std::vector<TimeNs>& block_times,
                        const std::vector<TimeNs>& stage_extra);

}  // namespace ppsim
