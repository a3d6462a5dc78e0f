#include "sim/report/json_report.h"

namespace ppsim {

void write_json_report_fields(JsonWriter& w, const RunInfo& info, const Timeline& tl, const Metrics& m) {
  const OpTable& t = *tl.table;
  w.field("ppsim_report_version", 1);
  w.field("source", tl.source);
  w.field("config", info.config_source);
  w.field("schedule", info.schedule);
  w.field("num_stages", info.ranks);
  w.field("num_microbatches", info.microbatches);
  w.field("num_chunks", info.chunks);
  w.field("split_backward", info.split_backward);
  w.field("times_source", info.times_source);
  w.field("compute_ops", static_cast<std::int64_t>(t.compute_ops()));
  w.field("transfer_ops", static_cast<std::int64_t>(t.pipeline_ops() - t.compute_ops()));
  w.field("step_ops", static_cast<std::int64_t>(t.step_ops));
  w.field("makespan_ns", m.makespan_ns);
  // One training step: the makespan plus the exposed data-parallel reduction and optimizer
  // (= makespan_ns when the run is the pipeline alone).
  w.field("iteration_time_ns", m.iteration_ns);
  if (m.has_training_step) {
    w.key("training_step").begin_object();
    w.field("pipeline_ns", m.makespan_ns);
    w.field("exposed_data_parallel_ns", m.exposed_data_parallel_ns);
    w.field("exposed_optimizer_ns", m.exposed_optimizer_ns);
    w.end_object();
  }
  w.field("bubble_fraction", m.bubble_fraction);
  w.field("bubble_rate_zb", m.bubble_rate_zb);
  w.field("largest_span_ns", m.largest_span_ns);
  w.field("largest_busy_ns", m.largest_busy_ns);
  w.field("throughput_microbatches_per_s", m.throughput_microbatches_per_s);
  if (info.model) {
    w.field("tokens_per_s", info.model->tokens_per_s);
    w.field("samples_per_s", info.model->samples_per_s);
    w.field("mfu", info.model->mfu);
    w.field("hfu", info.model->hfu);
    w.field("gpus", info.model->gpus);
    w.field("model_flops_per_iteration", info.model->model_flops_per_iteration);
    w.field("hardware_flops_per_iteration", info.model->hardware_flops_per_iteration);
    w.field("memory_limit_bytes", info.model->memory_limit_bytes);
    bool fits = true;
    for (const auto& r : info.model->ranks) fits = fits && r.fits;
    w.field("fits", fits);
  }
  w.key("stages").begin_array();
  for (const auto& r : m.ranks) {
    w.begin_object();
    if (info.model && r.rank < static_cast<int>(info.model->ranks.size())) {
      const RankModelMetrics& mm = info.model->ranks[r.rank];
      w.field("layers", mm.layers);
      w.field("has_embedding", mm.has_embedding);
      w.field("has_head", mm.has_head);
      w.field("peak_memory_bytes", mm.peak_memory_bytes);
      w.key("peak_memory_split_bytes").begin_object();
      w.field("parameters", mm.parameter_bytes);
      w.field("gradients", mm.gradient_bytes);
      w.field("optimizer", mm.optimizer_bytes);
      w.field("activations", mm.activation_bytes);
      w.end_object();
      w.field("fits", mm.fits);
    }
    w.field("rank", r.rank);
    w.field("busy_ns", r.busy_ns);
    w.field("span_ns", r.span_ns);
    w.field("first_start_ns", r.first_start_ns);
    w.field("last_end_ns", r.last_end_ns);
    w.field("bubble_fraction", r.bubble_fraction);
    w.field("peak_in_flight", r.peak_in_flight);
    w.field("mean_in_flight", r.mean_in_flight);
    w.field("arrival_rate_per_s", r.arrival_rate_per_s);
    w.field("mean_residence_ns", r.mean_residence_ns);
    w.field("littles_law_lambda_w", r.arrival_rate_per_s * r.mean_residence_ns * 1e-9);
    w.field("items", r.items);
    if (r.peak_activation_bytes > 0) w.field("peak_activation_bytes", r.peak_activation_bytes);
    w.key("idle_ns").begin_object();
    w.field("leading", r.idle_leading_ns);
    w.field("trailing", r.idle_trailing_ns);
    w.field("waiting_activation", r.idle_waiting_activation_ns);
    w.field("waiting_gradient", r.idle_waiting_gradient_ns);
    w.field("other", r.idle_other_ns);
    if (m.has_training_step) w.field("waiting_parameters", r.idle_waiting_parameters_ns);
    w.end_object();
    if (m.has_training_step) {
      w.field("data_parallel_busy_ns", r.data_parallel_busy_ns);
      w.field("optimizer_ns", r.optimizer_ns);
      w.field("step_end_ns", r.step_end_ns);
    }
    w.end_object();
  }
  w.end_array();
  w.key("links").begin_array();
  for (const auto& l : m.links) {
    w.begin_object();
    w.field("src", l.src);
    w.field("dst", l.dst);
    w.field("transfers", l.transfers);
    w.field("queued_transfers", l.queued_transfers);
    w.field("busy_ns", l.busy_ns);
    w.end_object();
  }
  w.end_array();
  if (!m.critical_path.ops.empty()) {
    w.key("critical_path").begin_object();
    w.field("ops", static_cast<std::int64_t>(m.critical_path.ops.size()));
    w.field("compute_ns", m.critical_path.compute_ns);
    w.field("transfer_ns", m.critical_path.transfer_ns);
    if (m.has_training_step) w.field("step_ns", m.critical_path.step_ns);
    w.end_object();
  }
}

std::string render_json_report(const RunInfo& info, const Timeline& tl, const Metrics& m) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  write_json_report_fields(w, info, tl, m);
  w.end_object();
  out += '\n';
  return out;
}

}  // namespace ppsim
