#include "plan/enumerate.h"

#include <algorithm>

#include "models/hardware.h"
#include "models/model_loader.h"

namespace ppsim {
namespace {

bool one_of(const std::string& s, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return s == n; });
}

// The chunk count a schedule fixes (1 or 2), or 0 when it takes any.
int fixed_chunks(const std::string& schedule) {
  if (one_of(schedule, {"1f1b", "zb-h1", "zb-h2", "zb-auto"})) return 1;
  if (one_of(schedule, {"zb-v", "v-half", "v-min", "dualpipe", "dualpipe-v"})) return 2;
  return 0;
}

}  // namespace

std::string skip_reason_text(const std::string& r) {
  if (r == "gpus_not_divisible") return "tensor_parallel x stages does not divide gpus";
  if (r == "tensor_parallel_not_dividing_model") return "tensor_parallel does not divide the model's heads, kv_heads, hidden or ffn_hidden";
  if (r == "tensor_parallel_spans_nodes") return "tensor_parallel spans more than a node (set link: to allow it)";
  if (r == "layers_fewer_than_stages_x_chunks") return "the model has fewer blocks than virtual stages (stages x chunks)";
  if (r == "schedule_chunks") return "the schedule fixes its chunk count (1 for 1f1b and zb-h1/h2, 2 for the V schedules and DualPipe)";
  if (r == "batch_not_divisible") return "global_batch_size does not divide into data_parallel x micro_batch_size";
  if (r == "sequence_parallel_without_tensor_parallel") return "sequence_parallel needs tensor_parallel > 1";
  if (r == "zero_without_data_parallel") return "zero needs data_parallel > 1";
  if (r == "zero_sharded_gradients_with_pipeline") return "zero 2 or 3 shards the gradients a pipeline accumulates (stages > 1)";
  if (r == "interleaving_constraint") return "interleaving: microbatches not a multiple of the round size max(1, M / P)";
  if (r == "dualpipe_constraint") return "DualPipe(V): needs microbatches >= 2 x stages (DualPipe: both even)";
  if (r == "schedule_constraint") return "the schedule refuses this stages, microbatches, chunks";
  if (r == "cost_model_rejected") return "the cost model refuses it (e.g. a profile measured at another micro-batch size)";
  return r;
}

Enumeration enumerate_candidates(const PlanConfig& plan) {
  const ModelSpec spec = load_model(plan.model.model);
  const HardwareSpec hw = load_hardware(plan.model.hardware);
  const PlanSearch& s = plan.search;
  Enumeration out;
  // The number of combinations below a level, to count a whole skipped subtree at once.
  const std::int64_t per_zero = 1;
  const std::int64_t per_recompute = per_zero * static_cast<std::int64_t>(s.zero.size());
  const std::int64_t per_sp = per_recompute * static_cast<std::int64_t>(s.recompute.size());
  const std::int64_t per_mbs = per_sp * static_cast<std::int64_t>(s.sequence_parallel.size());
  const std::int64_t per_schedule = per_mbs * static_cast<std::int64_t>(s.micro_batch_size.size());
  const std::int64_t per_chunks = per_schedule * static_cast<std::int64_t>(s.schedules.size());
  const std::int64_t per_stages = per_chunks * static_cast<std::int64_t>(s.chunks.size());
  const std::int64_t per_tp = per_stages * static_cast<std::int64_t>(s.stages.size());
  out.combinations = per_tp * static_cast<std::int64_t>(s.tensor_parallel.size());
  auto skip = [&](const char* reason, std::int64_t n) { out.skipped[reason] += n; };

  for (int t : s.tensor_parallel) {
    if (spec.heads % t || spec.kv_heads % t || spec.hidden % t || spec.ffn_hidden % t) {
      skip("tensor_parallel_not_dividing_model", per_tp);
      continue;
    }
    if (t > hw.gpus_per_node && !plan.model.link_given) {
      skip("tensor_parallel_spans_nodes", per_tp);
      continue;
    }
    for (int P : s.stages) {
      if (plan.gpus % (static_cast<std::int64_t>(t) * P) != 0) {
        skip("gpus_not_divisible", per_stages);
        continue;
      }
      const int d = plan.gpus / (t * P);
      for (int V : s.chunks) {
        for (const std::string& schedule : s.schedules) {
          const int fixed = fixed_chunks(schedule);
          if (fixed && V != fixed) {
            skip("schedule_chunks", per_schedule);
            continue;
          }
          // DualPipe holds two model copies: each copy's P stages need a block each.
          const std::int64_t needed = schedule == "dualpipe" ? P : static_cast<std::int64_t>(P) * V;
          if (spec.layers < needed) {
            skip("layers_fewer_than_stages_x_chunks", per_schedule);
            continue;
          }
          for (int mbs : s.micro_batch_size) {
            const std::int64_t per_step = static_cast<std::int64_t>(d) * mbs;
            if (plan.global_batch_size % per_step != 0 || plan.global_batch_size / per_step > 1'000'000) {
              skip("batch_not_divisible", per_mbs);
              continue;
            }
            const int M = static_cast<int>(plan.global_batch_size / per_step);
            for (bool sp : s.sequence_parallel) {
              if (sp && t == 1) {
                skip("sequence_parallel_without_tensor_parallel", per_sp);
                continue;
              }
              for (Recompute rc : s.recompute)
                for (int zero : s.zero) {
                  if (zero > 0 && d == 1) {
                    skip("zero_without_data_parallel", 1);
                    continue;
                  }
                  if (zero >= 2 && P > 1) {
                    skip("zero_sharded_gradients_with_pipeline", 1);
                    continue;
                  }
                  Candidate c;
                  c.id = static_cast<int>(out.candidates.size());
                  c.schedule = schedule;
                  c.stages = P;
                  c.chunks = V;
                  c.micro_batch_size = mbs;
                  c.microbatches = M;
                  c.tensor_parallel = t;
                  c.data_parallel = d;
                  c.sequence_parallel = sp;
                  c.recompute = rc;
                  c.zero = zero;
                  out.candidates.push_back(c);
                }
            }
          }
        }
      }
    }
  }
  return out;
}

}  // namespace ppsim
