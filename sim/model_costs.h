#pragma once
// The model-driven half of a config: model + hardware (+ calibration profile) -> partition ->
// per-stage op costs through the cost model (models/stage_costs.h).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/memory.h"
#include "models/profile.h"
#include "models/stage_costs.h"
#include "schedules/schedule.h"
#include "sim/config/config.h"
#include "sim/op_costs.h"

namespace ppsim {

struct ModelCosts {
  ModelSpec model;
  HardwareSpec hardware;
  CostSettings settings;
  Partition partition;
  StageCostTable table;
  std::int64_t memory_limit_bytes = 0;
  std::optional<MeasuredLayerTimes> measured;  // from the profile
  std::string profile_device_kind;             // "cpu" or "cuda" when a profile was used
  int profile_sms = 0;                         // cuda: the SM partition the profile ran on (0 = whole GPU)
  std::string profile_attention;               // cuda: the fused attention its blocks ran ("cudnn", "own"; empty:
                                               // not recorded)
  std::vector<std::string> notes;              // lines for the report (sources, defaults)

  // The DAG's op costs: virtual stage v's F/B/W and the hop after it. With the schedule's
  // placement of stages on ranks and tensor-parallel collectives in the passes, also each rank's
  // overlapped F&B unit (DualPipe): the two computes plus what of each half's collectives the
  // other half's compute cannot hide, averaged over the rank's pairings of stages.
  OpCosts op_costs(const std::vector<int>& rank_of_stage = {}) const;
  // The training step after the pipeline, with the schedule's placement of stages on ranks.
  TrainingStepCosts step_costs(const std::vector<int>& rank_of_stage, int ranks) const;
};

// What a caller may fix in place of the config's own choices.
struct CostOverrides {
  std::shared_ptr<const Profile> profile;  // a profile measured in process, instead of `profile:`
  std::string profile_label;               // how the report names it ("rank 1's core, measured just now")
  std::optional<Partition> partition;      // instead of `partition:` (e.g. the one a measured run used)
};

// Loads everything the config names and runs the cost model for the schedule's placement of
// virtual stages on ranks. A schedule with several model copies (DualPipe) gets the partition of
// one copy, repeated for each: stage c*S/copies + v is copy c's stage v.
ModelCosts build_model_costs(const ModelConfig& config, const Schedule& schedule, const CostOverrides& overrides = {});

// Op costs when each rank has its own cost model (per-device profiles): virtual stage v takes its
// times from by_rank[rank_of_stage[v]], and every hop from by_rank[0]. All must share one partition.
// A single cost model (one saved profile) gives every rank's times.
OpCosts per_rank_op_costs(const std::vector<ModelCosts>& by_rank, const std::vector<int>& rank_of_stage);

// Per-rank static memory for the schedule's placement of virtual stages on ranks; throws
// InputError when some rank's parameters alone exceed the memory limit.
std::vector<RankMemory> place_memory(const ModelCosts& costs, const std::vector<int>& rank_of_stage,
                                     const std::string& source);

}  // namespace ppsim
