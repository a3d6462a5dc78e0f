#include "plan/plan_report.h"

#include <cstdio>

#include "base/text_format.h"
#include "sim/report/json_writer.h"

namespace ppsim {
namespace {

std::string gb(std::int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) * 1e-9);
  return buf;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.insert(0, width - s.size(), ' ');
  return s;
}

std::string table_header() {
  return "  rank  schedule          t  sp   P   V    d  mbs     M  recompute  zero  iteration   tokens/s    MFU  bubble  "
         "peak memory (headroom)\n";
}

std::string table_row(const std::string& rank, const CandidateResult& r, std::int64_t limit) {
  const Candidate& c = r.config;
  std::string s = "  " + pad(rank, 4) + "  " + c.schedule + std::string(c.schedule.size() < 16 ? 16 - c.schedule.size() : 0, ' ') +
                  pad(std::to_string(c.tensor_parallel), 3) + pad(c.sequence_parallel ? "yes" : "no", 4) +
                  pad(std::to_string(c.stages), 4) + pad(std::to_string(c.chunks), 4) +
                  pad(std::to_string(c.data_parallel), 5) + pad(std::to_string(c.micro_batch_size), 5) +
                  pad(std::to_string(c.microbatches), 6) + pad(to_string(c.recompute), 11) +
                  pad(std::to_string(c.zero), 6) + pad(format_number("%.1f ms", static_cast<double>(r.iteration_time_ns) * 1e-6), 11) +
                  pad(format_number("%.0f", r.tokens_per_s), 11) + pad(format_number("%.1f%%", 100 * r.mfu), 7) +
                  pad(format_number("%.1f%%", 100 * r.bubble_fraction), 8) + "  " + gb(r.peak_memory_bytes) + " (" +
                  (r.fits ? gb(limit - r.peak_memory_bytes) + " free" : gb(r.peak_memory_bytes - limit) + " over") + ")";
  return s + "\n";
}

void write_candidate(JsonWriter& w, const CandidateResult& r) {
  const Candidate& c = r.config;
  w.begin_object();
  w.field("id", c.id);
  w.field("schedule", c.schedule);
  w.field("stages", c.stages);
  w.field("chunks", c.chunks);
  w.field("micro_batch_size", c.micro_batch_size);
  w.field("microbatches", c.microbatches);
  w.field("tensor_parallel", c.tensor_parallel);
  w.field("data_parallel", c.data_parallel);
  w.field("sequence_parallel", c.sequence_parallel);
  w.field("recompute", to_string(c.recompute));
  w.field("zero", c.zero);
  w.field("iteration_time_ns", static_cast<std::int64_t>(r.iteration_time_ns));
  w.field("tokens_per_s", r.tokens_per_s);
  w.field("mfu", r.mfu);
  w.field("bubble_fraction", r.bubble_fraction);
  w.field("peak_memory_bytes", r.peak_memory_bytes);
  w.field("fits", r.fits);
  w.field("makespan_ns", static_cast<std::int64_t>(r.makespan_ns));
  w.field("largest_busy_ns", static_cast<std::int64_t>(r.largest_busy_ns));
  w.field("exposed_data_parallel_ns", static_cast<std::int64_t>(r.exposed_data_parallel_ns));
  w.field("exposed_optimizer_ns", static_cast<std::int64_t>(r.exposed_optimizer_ns));
  w.field("hfu", r.hfu);
  w.end_object();
}

}  // namespace

std::string render_plan_text(const PlanConfig& plan, const PlanOutcome& o, int top_k) {
  std::string s = "ppsim plan: " + plan.model_name + " on " + std::to_string(plan.gpus) + " x " + plan.hardware_name +
                  ", global batch " + std::to_string(plan.global_batch_size) + " x " +
                  std::to_string(plan.model.sequence_length) + " tokens, memory limit " + gb(plan.memory_limit_bytes) +
                  " per GPU" + (plan.memory_limit_defaulted ? " (the GPU's memory less a 5 % reserve)" : "") + "\n";
  s += "searched " + std::to_string(o.combinations) + " combinations: " + std::to_string(o.evaluated) + " simulated (" +
       std::to_string(o.fitting) + " fit), " + std::to_string(o.combinations - o.evaluated) + " skipped; " +
       std::to_string(o.cost_models_built) + " cost models built\n";
  for (const auto& kv : o.skipped) s += pad(std::to_string(kv.second), 10) + "  " + skip_reason_text(kv.first) + "\n";
  if (o.fitting == 0) {
    s += "\nno configuration fits in " + gb(plan.memory_limit_bytes) + " per GPU";
    if (!o.pareto.empty()) s += "; the least memory any needs is " + gb(o.ranked[o.pareto.front()].peak_memory_bytes);
    s += "\n";
  } else {
    const int k = static_cast<int>(std::min<std::int64_t>(top_k, o.fitting));
    s += "\ntop " + std::to_string(k) + " of " + std::to_string(o.fitting) + " fitting configurations, by throughput:\n";
    s += table_header();
    for (int i = 0; i < k; ++i) s += table_row(std::to_string(i + 1), o.ranked[i], plan.memory_limit_bytes);
  }
  s += "\nPareto front, throughput against peak memory per GPU (* does not fit in " + gb(plan.memory_limit_bytes) + "):\n";
  s += table_header();
  // Non-fitting points a user might buy memory for: up to twice the limit here, all in the JSON.
  std::size_t beyond = 0;
  for (std::size_t i : o.pareto) {
    if (o.ranked[i].peak_memory_bytes > 2 * plan.memory_limit_bytes) {
      ++beyond;
      continue;
    }
    const std::string rank = o.ranked[i].fits ? std::to_string(i + 1) : "*";
    s += table_row(rank, o.ranked[i], plan.memory_limit_bytes);
  }
  if (beyond > 0)
    s += "  (" + std::to_string(beyond) + " more beyond twice the memory limit: --json lists the whole front)\n";
  if (!o.why.empty()) s += "\nwhy: " + o.why + "\n";
  if (o.fitting > 0) {
    const std::vector<std::size_t> by_m = same_but_microbatches(o, o.ranked[0].config);
    if (by_m.size() > 1) {
      s += "\nthe best with another micro-batch size (the same global batch, so M moves):\n";
      s += table_header();
      for (std::size_t i : by_m) s += table_row(o.ranked[i].fits ? std::to_string(i + 1) : "*", o.ranked[i], plan.memory_limit_bytes);
    }
  }
  return s;
}

std::string render_plan_json(const PlanConfig& plan, const PlanOutcome& o, const BubbleTarget* t) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.field("model", plan.model_name);
  w.field("hardware", plan.hardware_name);
  w.field("gpus", plan.gpus);
  w.field("global_batch_size", static_cast<std::int64_t>(plan.global_batch_size));
  w.field("sequence_length", plan.model.sequence_length);
  w.field("memory_limit_bytes", plan.memory_limit_bytes);
  w.field("combinations", static_cast<std::int64_t>(o.combinations));
  w.field("evaluated", static_cast<std::int64_t>(o.evaluated));
  w.field("fitting", static_cast<std::int64_t>(o.fitting));
  w.key("skipped").begin_object();
  for (const auto& kv : o.skipped) w.field(kv.first, static_cast<std::int64_t>(kv.second));
  w.end_object();
  w.key("best");
  if (o.fitting > 0) write_candidate(w, o.ranked[0]);
  else w.null();
  w.field("why", o.why);
  w.key("pareto").begin_array();
  for (std::size_t i : o.pareto) write_candidate(w, o.ranked[i]);
  w.end_array();
  if (t) {
    w.key("bubble_target").begin_object();
    w.field("target", t->target);
    w.field("estimate_microbatches", t->estimate);
    w.field("found", t->found);
    w.field("microbatches", t->microbatches);
    w.field("global_batch_size", static_cast<std::int64_t>(t->global_batch_size));
    w.field("bubble_fraction", t->bubble_fraction);
    w.field("mean_in_flight", t->mean_in_flight);
    w.field("arrival_rate_per_s", t->arrival_rate_per_s);
    w.field("mean_residence_ns", t->mean_residence_ns);
    w.field("peak_in_flight", t->peak_in_flight);
    w.end_object();
  }
  w.key("candidates").begin_array();
  for (const CandidateResult& r : o.ranked) write_candidate(w, r);
  w.end_array();
  w.end_object();
  return out + "\n";
}

std::string render_plan_csv(const PlanOutcome& o) {
  std::string s =
      "id,schedule,stages,chunks,micro_batch_size,microbatches,tensor_parallel,data_parallel,sequence_parallel,recompute,"
      "zero,iteration_time_ns,tokens_per_s,mfu,bubble_fraction,peak_memory_bytes,fits\n";
  for (const CandidateResult& r : o.ranked) {
    const Candidate& c = r.config;
    char figures[160];
    std::snprintf(figures, sizeof figures, "%lld,%.17g,%.17g,%.17g,%lld,%s", static_cast<long long>(r.iteration_time_ns),
                  r.tokens_per_s, r.mfu, r.bubble_fraction, static_cast<long long>(r.peak_memory_bytes),
                  r.fits ? "true" : "false");
    s += std::to_string(c.id) + "," + c.schedule + "," + std::to_string(c.stages) + "," + std::to_string(c.chunks) + "," +
         std::to_string(c.micro_batch_size) + "," + std::to_string(c.microbatches) + "," +
         std::to_string(c.tensor_parallel) + "," + std::to_string(c.data_parallel) + "," +
         (c.sequence_parallel ? "true" : "false") + "," + to_string(c.recompute) + "," + std::to_string(c.zero) + "," +
         figures + "\n";
  }
  return s;
}

}  // namespace ppsim
