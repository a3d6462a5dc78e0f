#include "sim/model_metrics.h"

namespace ppsim {

MetricsOptions metrics_options(const ModelCosts& costs) {
  MetricsOptions o;
  for (const StageCost& s : costs.table.stages) o.activation_bytes_per_stage.push_back(s.activation_bytes);
  return o;
}

ModelMetrics compute_model_metrics(const Metrics& m, const ModelCosts& costs, const std::vector<RankMemory>& memory,
                                   int microbatches) {
  ModelMetrics mm;
  const double seconds = static_cast<double>(m.iteration_ns) * 1e-9;
  const Parallelism& par = costs.settings.parallel;
  const int P = costs.settings.stages;
  mm.gpus = par.tensor * P * par.data;
  const double replicas_microbatches = static_cast<double>(microbatches) * par.data;
  const double samples = replicas_microbatches * costs.settings.micro_batch_size;
  mm.model_flops_per_iteration = costs.table.model_flops_per_microbatch * replicas_microbatches;
  mm.hardware_flops_per_iteration = costs.table.hardware_flops_per_microbatch * replicas_microbatches;
  if (seconds > 0) {
    const double capacity = mm.gpus * costs.hardware.peak_flops(costs.settings.dtype) * seconds;
    mm.samples_per_s = samples / seconds;
    mm.tokens_per_s = samples * costs.settings.sequence_length / seconds;
    mm.mfu = mm.model_flops_per_iteration / capacity;
    mm.hfu = mm.hardware_flops_per_iteration / capacity;
  }
  mm.memory_limit_bytes = costs.memory_limit_bytes;
  for (int r = 0; r < P; ++r) {
    RankModelMetrics rm;
    rm.rank = r;
    const RankMemory& mem = memory[r];
    for (int v : mem.virtual_stages) {
      const StageCost& s = costs.table.stages[v];
      rm.layers += s.num_layers;
      rm.has_embedding = rm.has_embedding || s.has_embedding;
      rm.has_head = rm.has_head || s.has_head;
    }
    rm.parameter_bytes = mem.param_bytes;
    rm.gradient_bytes = mem.grad_bytes;
    rm.optimizer_bytes = mem.optimizer_bytes;
    rm.activation_bytes = r < static_cast<int>(m.ranks.size()) ? m.ranks[r].peak_activation_bytes : 0;
    rm.peak_memory_bytes = mem.static_bytes() + rm.activation_bytes;
    rm.fits = rm.peak_memory_bytes <= costs.memory_limit_bytes;
    mm.ranks.push_back(rm);
  }
  return mm;
}

}  // namespace ppsim
