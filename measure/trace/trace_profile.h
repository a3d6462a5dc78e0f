#pragma once
// Calibration from a trace: each virtual stage's measured F, B and W times (mean and spread over
// the step's micro-batches) and the measured hops, as a ppsim profile (docs/profile.md,
// stage_times), so `ppsim simulate` reproduces the traced run and predicts other schedules.
#include <optional>
#include <string>
#include <vector>

#include "measure/trace/traced_timeline.h"
#include "models/partition.h"
#include "models/profile.h"
#include "sim/config/config.h"
#include "sim/op_costs.h"

namespace ppsim::trace {

// The traced ops' times per virtual stage of one model copy (`partition`: the run's; its
// stage count is one copy's). An op's time is its span on the GPU (first kernel start to last
// kernel end); ops that shared the GPU with other ops (the two of an overlapped unit, ops built
// from parts) take their own kernels' busy time instead. A fused backward (BW) is split into B and W by `b_share[s]`, B's
// fraction of the stage's backward FLOPs (empty: the whole backward counts as B). Hops: the
// median time of the transfers whose receive the trace shows, per stage boundary.
StageTimesProfile stage_times_of(const TracedRun& run, const std::vector<RankOps>& ops, const Partition& partition,
                                 const std::vector<double>& b_share, const std::string& source);

// Op costs for the simulator straight from stage times (configs with explicit times): each
// stage's means, its measured hops, no time for the others; `overlap_f_b` per rank (empty: none).
OpCosts op_costs_of(const StageTimesProfile& st, const Schedule& schedule, const std::vector<TimeNs>& overlap_f_b);

// Per rank, the mean traced time of its overlapped F&B units (their span); empty when none.
std::vector<TimeNs> overlapped_unit_times(const TracedRun& run);

// A whole profile around the stage times for a model-driven config: configuration from the config
// and its model, per-layer times derived from the stages (see layer_times_of), device from the trace.
Profile traced_profile(const StageTimesProfile& st, const ModelConfig& config, const std::string& device_name,
                       int ranks);

// Per-layer times from per-stage ones, so the profile also serves other partitions: a block takes
// the median over stages without embedding or head of (stage time / blocks) (the smallest such
// ratio when every stage has one), the embedding and the head what their stage took beyond its
// blocks (never below zero). Per pass, from the means.
void layer_times_of(const StageTimesProfile& st, LayerProfile& embedding, LayerProfile& block, LayerProfile& head);

}  // namespace ppsim::trace
