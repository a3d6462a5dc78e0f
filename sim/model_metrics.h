#pragma once
// Figures that need the model behind a run: tokens and samples per second, MFU, and per-rank
// memory per GPU (parameters, gradients, optimizer state, activations at the in-flight peak)
// against the memory limit. Computed from the metrics and the cost model's tables only.
#include <cstdint>
#include <vector>

#include "sim/metrics.h"
#include "sim/model_costs.h"

namespace ppsim {

struct RankModelMetrics {
  int rank = 0;
  int layers = 0;  // transformer blocks held
  bool has_embedding = false, has_head = false;
  std::int64_t parameter_bytes = 0, gradient_bytes = 0, optimizer_bytes = 0;
  std::int64_t activation_bytes = 0;  // activations stashed at the rank's in-flight peak
  std::int64_t peak_memory_bytes = 0;
  bool fits = true;
};

struct ModelMetrics {
  // Over the whole job (d replicas) and one training step (the iteration time: the pipeline plus
  // the exposed data-parallel reduction and optimizer).
  int gpus = 1;  // t x P x d
  double tokens_per_s = 0;
  double samples_per_s = 0;
  double mfu = 0;  // model FLOPs / (GPUs x peak x iteration time); recomputation not counted
  double hfu = 0;  // the same with the recomputed forward passes counted (hardware FLOPs)
  double model_flops_per_iteration = 0;     // all d replicas
  double hardware_flops_per_iteration = 0;
  std::int64_t memory_limit_bytes = 0;
  std::vector<RankModelMetrics> ranks;
};

// Per-stage activation bytes for compute_metrics' weighted in-flight sweep.
MetricsOptions metrics_options(const ModelCosts& costs);

ModelMetrics compute_model_metrics(const Metrics& metrics, const ModelCosts& costs, const std::vector<RankMemory>& memory,
                                   int microbatches);

}  // namespace ppsim
