#pragma once
// schedule.yaml, validated. Every error names the file, line, column and key.
// The schema (a contract: extend it, never rename):
//   schedule: zb-h1          # gpipe | 1f1b | interleaved-1f1b | zb-h1 | zb-h2 | custom
//   stages: 8                # P
//   microbatches: 24         # M
//   chunks: 1                # V (default 1)
//   times:                   # one micro-batch through one chunk; scalar or list of P values
//     forward: 18.5ms
//     backward_input: 18.1ms
//     backward_weight: 9.3ms
//     transfer: 0.6ms        # one hop (scalar)
//   order_csv: order.csv     # schedule: custom only, relative to the YAML file
// or, instead of `times:`, the model-driven keys (issue 3):
//   model: llama3-8b         # a shipped name or a model YAML file
//   hardware: h100-sxm       # a shipped name or a hardware YAML file (default h100-sxm)
//   profile: profile.yaml    # a calibration profile; its times take precedence op by op
//   profile_statistic: mean  # mean (default: a makespan sums op times) | median
//   micro_batch_size: 1
//   sequence_length: 4096
//   dtype: bf16              # bf16 | fp16 | fp32
//   recompute: none          # none | selective | full
//   partition: auto          # or a list of blocks per virtual stage (P*V values), or
//                            # {layers: [...], embedding_stage: 0, head_stage: 7}
//   memory_limit: 80GB       # per GPU; default: the hardware's capacity
//   efficiency: {compute: 0.5, memory: 0.8, network: 0.8}   # roofline overrides
//   link: auto               # auto | intra_node | inter_node: which link a hop uses
// and the 3D-parallel keys (issue 12; with `times:` they are ignored and the report says so):
//   tensor_parallel: 8       # t: GPUs sharing each layer (default 1)
//   sequence_parallel: true  # Megatron sequence parallelism, with t > 1 (default false)
//   data_parallel: 4         # d: pipeline replicas (default 1)
//   zero: 1                  # 0 | 1 optimizer state | 2 + gradients | 3 + parameters, over d
//   global_batch_size: 1536  # sequences per step: microbatches = global_batch_size / (d * micro_batch_size)
//   placement: [tensor, pipeline, data]   # innermost first (default)
//   grad_reduce_overlap: true             # data-parallel reduction in buckets under the backward
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/cost_model.h"
#include "models/hardware.h"
#include "models/parallelism.h"
#include "models/model_spec.h"
#include "models/stage_costs.h"
#include "base/time.h"
#include "sim/replication_spec.h"
#include "sim/stream/stream_config.h"

namespace ppsim {

struct Profile;  // calibrate/profile.h

struct ModelConfig {
  std::string model;
  std::string hardware = "h100-sxm";
  bool hardware_defaulted = true;
  std::string profile;  // resolved path, empty = roofline only
  ProfileStatistic profile_statistic = ProfileStatistic::Mean;  // which of the profile's timings an op takes
  int micro_batch_size = 1;
  int sequence_length = 2048;
  DType dtype = DType::BF16;
  Recompute recompute = Recompute::None;
  bool partition_auto = true;
  std::vector<int> partition;  // blocks per virtual stage when not auto
  int embedding_stage = 0;     // virtual stage holding the embedding
  int head_stage = -1;         // virtual stage holding final norm + LM head + loss; -1 = the last
  std::string partition_where; // "file:line:col: partition" for errors found later
  std::optional<std::int64_t> memory_limit_bytes;
  std::optional<Efficiency> efficiency;
  LinkChoice link = LinkChoice::Auto;
  bool link_given = false;  // `link:` written out (needed when t > gpus_per_node)
  Parallelism parallel;     // tensor_parallel, sequence_parallel, data_parallel, zero, placement, grad_reduce_overlap
};

struct ExplicitTimes {
  std::vector<TimeNs> forward, backward_input, backward_weight;  // per rank (size P)
  TimeNs transfer = 0;
  std::vector<TimeNs> overlap_f_b;  // per rank: an overlapped F&B unit (DualPipe); empty = F + B
};

struct SimulationConfig {
  std::string source;    // file path, or "<embedded default example>"
  std::string base_dir;  // for relative paths in the file
  std::string schedule;
  int ranks = 0;         // P, pipeline ranks: the YAML key `stages` (each rank holds `chunks` virtual stages)
  int microbatches = 0;  // M; from global_batch_size / (data_parallel * micro_batch_size) when not given
  int chunks = 1;
  std::optional<ExplicitTimes> times;   // exactly one of times / model
  std::optional<ModelConfig> model;
  std::string order_csv;  // resolved path (schedule: custom)
  // schedule: zb-auto. The most micro-batches whose activations a rank holds, counted from its F
  // to its W (default P: 1F1B's peak, ZB-1p; 2P is ZB-2p), and the fraction of a micro-batch's
  // activations still held between its B and its W (default 1: all of them).
  int in_flight_limit = 0;
  double w_stash_fraction = 1.0;
  // The 3D-parallel keys of a config with explicit `times:`: accepted and ignored (the times are
  // one GPU's), which the report says.
  bool parallel_keys_ignored = false;
  std::int64_t global_batch_size = 0;  // sequences per optimizer step; 0 = not given
  // schedule: stream (issue 15): a forward-only streaming pipeline, run by sim/stream/, not by the
  // training engine; `ranks` is then its stage count and the training fields stay unset.
  std::optional<StreamConfig> stream;
  // jitter / straggler on a training schedule (issue 15): seeded replays of its DAG.
  std::optional<ReplicationSpec> replication;
};

// Reads and validates a YAML file.
SimulationConfig load_config(const std::string& path);

// Parses YAML text; `source` names it in errors and `base_dir` resolves relative paths.
SimulationConfig parse_config(const std::string& text, const std::string& source, const std::string& base_dir);

// The default example compiled into the binary (examples/default.yaml).
const std::string& embedded_default_example();

}  // namespace ppsim
