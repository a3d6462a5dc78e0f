#pragma once
// The entry point the simulator calls: per-virtual-stage pass times, FLOPs and memory of one
// micro-batch, from the analytic cost model or, layer type by layer type, a calibration profile.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "models/cost_model.h"
#include "models/hardware.h"
#include "models/layer_times.h"
#include "models/model_spec.h"
#include "models/parallelism.h"
#include "models/partition.h"
#include "base/time.h"

namespace ppsim {

// Which hardware link one pipeline hop uses when no measured link fit is given.
enum class LinkChoice {
  Auto,       // intra-node between ranks on the same node (rank / gpus_per_node), else inter-node
  IntraNode,
  InterNode,
};

struct CostSettings {
  int micro_batch_size = 1;
  int sequence_length = 2048;
  DType dtype = DType::BF16;
  Recompute recompute = Recompute::None;
  int stages = 1;  // P, pipeline ranks
  int chunks = 1;  // V, model chunks per rank (interleaved / zero-bubble V schedules)
  std::optional<Efficiency> efficiency;  // overrides the hardware file's efficiencies
  LinkChoice link = LinkChoice::Auto;
  // Virtual stage -> pipeline rank, as the schedule places them; empty = the interleaved layout
  // (stage v on rank v mod P). Decides which hops cross ranks and which link each uses.
  std::vector<int> rank_of_stage;
  Parallelism parallel;  // tensor, sequence and data parallelism, ZeRO, and their placement on GPUs

  int rank_of(int stage) const { return rank_of_stage.empty() ? stage % stages : rank_of_stage[stage]; }

  LayerShape shape() const {
    return {micro_batch_size, sequence_length, dtype, recompute, parallel.tensor, parallel.sequence};
  }
};

// HBM bytes per parameter of one Adam update: read the gradient (2), the fp32 master weight and two
// moments (12), write those three (12) and the training-dtype weight (2).
constexpr double kOptimizerBytesPerParam = 28;

// Pass times of one micro-batch through one layer of each type, and where each came from. With
// tensor parallelism each pass includes its collectives, which the *_comm parts give on their own.
struct LayerTypeTimes {
  PassTimes embedding, block, head;
  PassTimes embedding_comm, block_comm, head_comm;
  std::string embedding_source, block_source, head_source;  // "roofline" or "profile:<path>"
};

// The time of one pass's tensor-parallel collectives over the link the t GPUs share.
TimeNs tp_comm_time(const TpComm& comm, int t, double alpha_s, double beta_bytes_per_s);

// One virtual stage (model chunk), in model order 0..P*V-1.
struct StageCost {
  int first_layer = 0;  // first block, 0-based
  int num_layers = 0;
  bool has_embedding = false;
  bool has_head = false;
  TimeNs forward = 0;  // one micro-batch through the whole chunk
  TimeNs backward_input = 0;  // includes the recomputed forward under Recompute::Full
  TimeNs backward_weight = 0;
  // The tensor-parallel collectives inside each of those times (0 with t = 1): what an overlapped
  // F&B unit can hide under the other half's compute.
  TimeNs forward_comm = 0, backward_input_comm = 0, backward_weight_comm = 0;
  std::string source;  // "roofline", "profile:<path>", or "mixed(...)" listing each layer type's
  double forward_flops = 0;
  double backward_input_flops = 0;
  double backward_weight_flops = 0;
  std::int64_t activation_bytes = 0;  // stashed per in-flight micro-batch of this chunk, per GPU
  std::int64_t params = 0;            // per GPU (the tensor-parallel shard)
  std::int64_t param_bytes = 0;       // per GPU, after ZeRO's sharding over data-parallel replicas
  std::int64_t grad_bytes = 0;
  std::int64_t optimizer_bytes = 0;
  // Its share of a training step: the data-parallel collective of its gradients (all-reduce; a
  // reduce-scatter under ZeRO, once per step or per backward), ZeRO's all-gather of its
  // parameters (after the optimizer for stages 1-2, before each pass for 3), and the optimizer
  // update of its parameter shard. 0 where d = 1 or ZeRO is off.
  TimeNs grad_reduce = 0, param_gather = 0, optimizer = 0;

  TimeNs total() const { return forward + backward_input + backward_weight; }
};

struct StageCostTable {
  int pipeline_stages = 1;  // P
  int chunks = 1;           // V
  std::vector<StageCost> stages;  // size P*V, virtual-stage order; rank of stage v is v % P
  std::int64_t boundary_bytes = 0;  // activation sent between consecutive stages per micro-batch
  TimeNs transfer = 0;              // one hop of boundary_bytes: the slowest boundary's time
  std::string transfer_source;      // "profile:<path>", "spec:intra_node", "spec:inter_node" or "spec:mixed"
  // Per boundary v (virtual stage v -> v+1, size P*V-1): the hop's time in either direction. With
  // LinkChoice::Auto and P > gpus_per_node, rank r is taken to sit on node r / gpus_per_node, so
  // only hops between nodes use the inter-node link. Boundaries within one rank (P = 1) cost 0.
  std::vector<TimeNs> boundary_transfer;
  // F + B + W FLOPs of one micro-batch through the whole model without recompute ("model FLOPs",
  // the numerator of MFU; recomputation is excluded as in PaLM's MFU definition).
  double model_flops_per_microbatch = 0;     // the whole model, F + B + W, no recompute (MFU)
  double hardware_flops_per_microbatch = 0;  // the same with the recompute the settings ask for (HFU)
};

// Per-layer-type times: the profile's measurement where it has one (a measured block is taken as
// measured without recompute and the recompute is added to its B as in the roofline), the roofline
// estimate otherwise.
LayerTypeTimes layer_type_times(const ModelSpec& m, const HardwareSpec& hw, const CostSettings& s,
                                const std::optional<MeasuredLayerTimes>& measured);

// `partition: auto`: contiguous blocks over P*V virtual stages minimizing the slowest virtual
// stage's F+B+W time, embedding on virtual stage 0 and head on the last (exact, see partition.h).
Partition auto_partition(const ModelSpec& m, const HardwareSpec& hw, const CostSettings& s,
                         const std::optional<MeasuredLayerTimes>& measured, const std::string& where = "partition");

// The simulator's entry point. Validates the settings and the partition (InputError prefixed by
// `where`), then sums the per-layer costs of each virtual stage. Deterministic; times in int64 ns.
StageCostTable build_stage_costs(const ModelSpec& m, const HardwareSpec& hw, const CostSettings& s, const Partition& p,
                                 const std::optional<MeasuredLayerTimes>& measured,
                                 const std::string& where = "partition");

}  // namespace ppsim
