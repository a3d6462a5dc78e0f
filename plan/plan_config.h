#pragma once
// plan.yaml, validated: the model, the GPUs, the global batch and the search space of `ppsim plan`.
// Every error names the file, line, column and key. The schema (a contract: extend, never rename):
//   model: llama3-70b          # a shipped name or a model YAML file
//   hardware: h100-sxm         # a shipped name or a hardware YAML file (default h100-sxm)
//   gpus: 64                   # t x P x d
//   global_batch_size: 512     # sequences per optimizer step: M = global_batch_size / (d x micro_batch_size)
//   sequence_length: 4096
//   dtype: bf16
//   memory_limit: 76GB         # per GPU; default: the hardware's memory minus kMemoryReserveFraction
//   search:                    # optional; each key restricts one dimension, absent = every valid value
//     schedules: [1f1b, zb-h1] # registered schedules (and zb-auto when named)
//     stages: [2, 4, 8]        # P
//     chunks: [1, 2, 4]        # V
//     micro_batch_size: [1, 2]
//     tensor_parallel: [1, 2, 4, 8]
//     sequence_parallel: [false, true]
//     recompute: [none, selective, full]
//     zero: [0, 1]
//   profile: prof.yaml         # optional, as in simulate
#include <cstdint>
#include <string>
#include <vector>

#include "sim/config/config.h"

namespace ppsim {

// The share of a GPU's memory kept back by default for what the cost model does not count: the
// CUDA context, NCCL's buffers, the allocator's fragmentation (80 GB -> 76 GB on an H100).
inline constexpr double kMemoryReserveFraction = 0.05;

// The default search ranges where plan.yaml gives none (docs/planning.md): chunks 1..kMaxDefaultChunks,
// micro-batch sizes the powers of two up to kMaxDefaultMicroBatch.
inline constexpr int kMaxDefaultChunks = 8;
inline constexpr int kMaxDefaultMicroBatch = 8;

// The values each dimension takes, after the defaults are filled in (none is empty).
struct PlanSearch {
  std::vector<std::string> schedules;
  std::vector<int> stages, chunks, micro_batch_size, tensor_parallel;
  std::vector<bool> sequence_parallel;
  std::vector<Recompute> recompute;
  std::vector<int> zero;
};

struct PlanConfig {
  std::string source;    // the file, for messages
  ModelConfig model;     // model, hardware, profile, sequence_length, dtype, memory_limit, partition auto;
                         // micro_batch_size, recompute and parallel are each candidate's
  int gpus = 0;
  std::int64_t global_batch_size = 0;
  std::int64_t memory_limit_bytes = 0;
  bool memory_limit_defaulted = true;
  int model_layers = 0;  // blocks in the model (for the P x V check)
  std::string model_name, hardware_name;
  PlanSearch search;
};

// Reads and validates plan.yaml.
PlanConfig load_plan_config(const std::string& path);

// Parses YAML text; `source` names it in errors and `base_dir` resolves relative paths.
PlanConfig parse_plan_config(const std::string& text, const std::string& source, const std::string& base_dir);

}  // namespace ppsim
