#include "sim/model_costs.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "models/profile.h"
#include "models/model_loader.h"
#include "base/error.h"

namespace ppsim {
namespace {

std::string gib(std::int64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024 * 1024));
  return buf;
}

// A profile measured on another model or shape would silently give wrong times: refuse it.
void check_profile_matches(const Profile& p, const ModelSpec& m, const ModelConfig& c) {
  const ModelSpec& pm = p.model;
  auto mismatch = [&](const std::string& what, const std::string& profile_value, const std::string& config_value) {
    throw InputError(p.source + ": profile was measured with " + what + " " + profile_value + " but the config has " +
                     config_value + " (run 'ppsim calibrate' for this configuration)");
  };
  if (pm.hidden != m.hidden || pm.ffn_hidden != m.ffn_hidden || pm.heads != m.heads || pm.kv_heads != m.kv_heads ||
      pm.vocab != m.vocab)
    mismatch("model", "'" + pm.name + "' (hidden " + std::to_string(pm.hidden) + ")",
             "'" + m.name + "' (hidden " + std::to_string(m.hidden) + ")");
  if (p.micro_batch_size != c.micro_batch_size)
    mismatch("micro_batch_size", std::to_string(p.micro_batch_size), std::to_string(c.micro_batch_size));
  if (p.sequence_length != c.sequence_length)
    mismatch("sequence_length", std::to_string(p.sequence_length), std::to_string(c.sequence_length));
}

}  // namespace

OpCosts ModelCosts::op_costs(const std::vector<int>& rank_of_stage) const {
  OpCosts c;
  bool collectives = false;
  for (const StageCost& s : table.stages) {
    c.forward.push_back(s.forward);
    c.backward_input.push_back(s.backward_input);
    c.backward_weight.push_back(s.backward_weight);
    collectives = collectives || s.forward_comm > 0 || s.backward_input_comm > 0;
  }
  c.forward_transfer = table.boundary_transfer;
  c.backward_transfer = table.boundary_transfer;
  if (!collectives || rank_of_stage.size() != table.stages.size()) return c;
  // F of stage a beside B of stage b (a != b, both on the rank): F_comp + B_comp + max(0, F_comm -
  // B_comp) + max(0, B_comm - F_comp): each half's collectives run under the other's compute.
  const int ranks = *std::max_element(rank_of_stage.begin(), rank_of_stage.end()) + 1;
  c.overlap_f_b.assign(ranks, 0);
  for (int r = 0; r < ranks; ++r) {
    double sum = 0;
    int pairs = 0;
    for (std::size_t a = 0; a < table.stages.size(); ++a)
      for (std::size_t b = 0; b < table.stages.size(); ++b) {
        if (a == b || rank_of_stage[a] != r || rank_of_stage[b] != r) continue;
        const StageCost &f = table.stages[a], &x = table.stages[b];
        const TimeNs f_comp = f.forward - f.forward_comm, b_comp = x.backward_input - x.backward_input_comm;
        sum += static_cast<double>(f_comp + b_comp + std::max<TimeNs>(0, f.forward_comm - b_comp) +
                                   std::max<TimeNs>(0, x.backward_input_comm - f_comp));
        ++pairs;
      }
    if (pairs == 0) return OpCosts{c.forward, c.backward_input, c.backward_weight, c.forward_transfer, c.backward_transfer, {}};
    c.overlap_f_b[r] = static_cast<TimeNs>(std::llround(sum / pairs));
  }
  return c;
}

TrainingStepCosts ModelCosts::step_costs(const std::vector<int>& rank_of_stage, int ranks) const {
  const Parallelism& par = settings.parallel;
  TrainingStepCosts c;
  c.reduce_every_backward = par.zero >= 2;
  c.overlap = par.grad_reduce_overlap;
  c.optimizer.assign(ranks, 0);
  for (std::size_t v = 0; v < table.stages.size(); ++v) {
    const StageCost& s = table.stages[v];
    c.grad_reduce.push_back(s.grad_reduce);
    c.param_gather_after_step.push_back(par.zero == 1 || par.zero == 2 ? s.param_gather : 0);
    c.param_gather_before_pass.push_back(par.zero == 3 ? s.param_gather : 0);
    c.optimizer[rank_of_stage[v]] += s.optimizer;
  }
  return c;
}

OpCosts per_rank_op_costs(const std::vector<ModelCosts>& by_rank, const std::vector<int>& rank_of_stage) {
  OpCosts c = by_rank.front().op_costs();
  for (std::size_t v = 0; v < rank_of_stage.size(); ++v) {
    // One cost model (one saved profile) serves every rank.
    const std::size_t rank = static_cast<std::size_t>(rank_of_stage[v]);
    const ModelCosts& mine = by_rank.size() == 1 ? by_rank.front() : by_rank.at(rank);
    if (mine.partition.layers_per_stage != by_rank.front().partition.layers_per_stage)
      throw InputError("per-rank cost models disagree on the partition");
    const StageCost& s = mine.table.stages[v];
    c.forward[v] = s.forward;
    c.backward_input[v] = s.backward_input;
    c.backward_weight[v] = s.backward_weight;
  }
  return c;
}

std::vector<RankMemory> place_memory(const ModelCosts& costs, const std::vector<int>& rank_of_stage,
                                     const std::string& source) {
  std::vector<RankMemory> mem = rank_memory(costs.table, rank_of_stage);
  check_memory_limit(mem, costs.memory_limit_bytes, source + ": memory_limit");
  return mem;
}

namespace {

// The model copies of a schedule: each copy's stages take the same layers (DualPipe).
void repeat_for_copies(StageCostTable& table, int copies) {
  const std::vector<StageCost> one = table.stages;
  const std::vector<TimeNs> hops = table.boundary_transfer;
  for (int c = 1; c < copies; ++c) {
    table.stages.insert(table.stages.end(), one.begin(), one.end());
    table.boundary_transfer.push_back(0);  // between two copies: no data flows
    table.boundary_transfer.insert(table.boundary_transfer.end(), hops.begin(), hops.end());
  }
}

// A traced profile's per-stage times apply to a schedule with the same virtual stages (one model
// copy) and the same partition; otherwise the layers' times do. Returns why not, or "" when they do.
std::string stage_times_mismatch(const StageTimesProfile& st, const Partition& part) {
  auto list = [](const std::vector<int>& v) {
    std::string out;
    for (int x : v) out += (out.empty() ? "" : ", ") + std::to_string(x);
    return "[" + out + "]";
  };
  const int head = st.head_stage < 0 ? static_cast<int>(st.layers_per_stage.size()) - 1 : st.head_stage;
  if (st.layers_per_stage != part.layers_per_stage || st.embedding_stage != part.embedding_stage || head != part.head())
    return "it was measured with partition " + list(st.layers_per_stage) + " (embedding on stage " +
           std::to_string(st.embedding_stage) + ", head on " + std::to_string(head) + ") but this run has " +
           list(part.layers_per_stage) + " (embedding on stage " + std::to_string(part.embedding_stage) + ", head on " +
           std::to_string(part.head()) + ")";
  return "";
}

// Replaces each virtual stage's F, B and W (and the measured hops) by the profile's stage_times.
void apply_stage_times(StageCostTable& table, const StageTimesProfile& st, ProfileStatistic statistic,
                       const CostSettings& settings, const std::string& source) {
  for (std::size_t v = 0; v < table.stages.size(); ++v) {
    StageCost& c = table.stages[v];
    c.forward = pick_time(st.stages[v].forward, statistic);
    c.backward_input = pick_time(st.stages[v].backward_input, statistic);
    c.backward_weight = pick_time(st.stages[v].backward_weight, statistic);
    c.source = "profile:" + source + "#stage_times";
  }
  bool hop_measured = false;
  for (const HopTiming& h : st.hops) {
    if (settings.rank_of(h.boundary) == settings.rank_of(h.boundary + 1)) continue;  // no hop in this layout
    table.boundary_transfer[h.boundary] = h.median_ns;
    hop_measured = true;
  }
  if (!hop_measured) return;
  table.transfer = *std::max_element(table.boundary_transfer.begin(), table.boundary_transfer.end());
  table.transfer_source = "profile:" + source + "#stage_times" +
                          (st.hops.size() + 1 == table.stages.size() ? "" : " and " + table.transfer_source);
}

// Another partition or stage count still moves the same activation over each hop (its size
// depends on the model and the micro-batch only), so every hop between ranks takes the median of
// the measured hops. Returns false when the profile measured none.
bool apply_measured_hops(StageCostTable& table, const StageTimesProfile& st, const CostSettings& settings,
                         const std::string& source) {
  if (st.hops.empty()) return false;
  std::vector<TimeNs> medians;
  for (const HopTiming& h : st.hops) medians.push_back(h.median_ns);
  std::sort(medians.begin(), medians.end());
  const TimeNs hop = medians[medians.size() / 2];
  for (std::size_t b = 0; b < table.boundary_transfer.size(); ++b)
    if (settings.rank_of(static_cast<int>(b)) != settings.rank_of(static_cast<int>(b) + 1)) table.boundary_transfer[b] = hop;
  table.transfer = hop;
  table.transfer_source = "profile:" + source + "#stage_times.hops (median)";
  return true;
}

}  // namespace

namespace {

// "t = 8 (sequence parallel) x P = 4 x d = 2 = 64 GPUs, 8 per node; ZeRO-1; ..." for the report.
std::string describe_parallelism(const Parallelism& par, int P, int gpus_per_node) {
  std::string text = "parallelism: t = " + std::to_string(par.tensor) + (par.sequence ? " (sequence parallel)" : "") +
                     " x P = " + std::to_string(P) + " x d = " + std::to_string(par.data) + " = " +
                     std::to_string(par.tensor * P * par.data) + " GPUs, " + std::to_string(gpus_per_node) +
                     " per node; placement ";
  for (std::size_t i = 0; i < par.placement.size(); ++i) {
    const ParallelDim d = par.placement[i];
    text += std::string(i ? "," : "[") + (d == ParallelDim::Tensor ? "tensor" : d == ParallelDim::Pipeline ? "pipeline" : "data");
  }
  text += "] (innermost first)";
  if (par.data > 1)
    text += std::string("; ZeRO-") + std::to_string(par.zero) + ", gradient reduction " +
            (par.grad_reduce_overlap ? "overlapped with the backward" : "after the backward");
  return text;
}

}  // namespace

ModelCosts build_model_costs(const ModelConfig& config, const Schedule& schedule, const CostOverrides& overrides) {
  const int copies = schedule.copies();
  const int stages = schedule.ranks, chunks = schedule.chunks / copies;
  ModelCosts mc;
  mc.model = load_model(config.model);
  mc.hardware = load_hardware(config.hardware);
  mc.settings.micro_batch_size = config.micro_batch_size;
  mc.settings.sequence_length = config.sequence_length;
  mc.settings.dtype = config.dtype;
  mc.settings.recompute = config.recompute;
  mc.settings.stages = stages;
  mc.settings.chunks = chunks;
  mc.settings.efficiency = config.efficiency;
  mc.settings.link = config.link;
  mc.settings.parallel = config.parallel;
  mc.settings.rank_of_stage.assign(schedule.rank_of_stage.begin(), schedule.rank_of_stage.begin() + stages * chunks);
  mc.notes.push_back("model " + mc.model.name + " (" + std::to_string(mc.model.layers) + " blocks, hidden " +
                     std::to_string(mc.model.hidden) + "), micro-batch " + std::to_string(config.micro_batch_size) +
                     " x sequence " + std::to_string(config.sequence_length) + ", " + to_string(config.dtype) +
                     ", recompute " + to_string(config.recompute));
  mc.notes.push_back("hardware " + mc.hardware.name + (config.hardware_defaulted ? " (default; set 'hardware:')" : ""));
  mc.notes.push_back(describe_parallelism(config.parallel, stages, mc.hardware.gpus_per_node));
  std::optional<Profile> profile;
  if (overrides.profile || !config.profile.empty()) {
    profile = overrides.profile ? *overrides.profile : load_profile(config.profile);
    const Profile& p = *profile;
    check_profile_matches(p, mc.model, config);
    mc.measured = to_layer_times(p, config.profile_statistic);
    mc.profile_device_kind = p.device.kind;
    mc.profile_sms = p.device.sms;
    mc.profile_attention = p.device.attention;
    mc.notes.push_back("calibration profile " + (overrides.profile ? overrides.profile_label : config.profile) +
                       " (" + p.device.kind + ": " + p.device.name +
                       (p.device.sms > 0 ? ", " + std::to_string(p.device.sms) + "-SM partition" +
                                               (p.device.partitions > 1 ? " x " + std::to_string(p.device.partitions) + " at once" : "")
                                         : std::string()) +
                       ", measured in " + to_string(p.dtype) + "; op times are " +
                       (mc.measured->means_missing ? std::string("medians: the profile records no means")
                                                   : std::string(to_string(mc.measured->statistic)) + "s") + ")");
  }
  const StageTimesProfile* traced = profile && profile->stage_times ? &*profile->stage_times : nullptr;
  const bool traced_stage_count = traced && static_cast<int>(traced->stages.size()) == stages * chunks;
  if (overrides.partition) {
    mc.partition = *overrides.partition;
  } else if (config.partition_auto && traced_stage_count) {  // the traced run's partition is measured
    mc.partition.layers_per_stage = traced->layers_per_stage;
    mc.partition.embedding_stage = traced->embedding_stage;
    mc.partition.head_stage = traced->head_stage;
  } else if (config.partition_auto) {
    mc.partition = auto_partition(mc.model, mc.hardware, mc.settings, mc.measured, config.partition_where);
  } else {
    mc.partition.layers_per_stage = config.partition;
    mc.partition.embedding_stage = config.embedding_stage;
    mc.partition.head_stage = config.head_stage;
  }
  mc.table = build_stage_costs(mc.model, mc.hardware, mc.settings, mc.partition, mc.measured, config.partition_where);
  if (traced) {
    const std::string label = overrides.profile ? overrides.profile_label : config.profile;
    const std::string why_not = !traced_stage_count
                                    ? "it has " + std::to_string(traced->stages.size()) + " virtual stages, this run " +
                                          std::to_string(stages * chunks)
                                    : stage_times_mismatch(*traced, mc.partition);
    if (why_not.empty()) {
      apply_stage_times(mc.table, *traced, config.profile_statistic, mc.settings, label);
      mc.notes.push_back("stage times measured per stage (the profile's stage_times: " + traced->source + ")");
    } else {
      const bool hops = apply_measured_hops(mc.table, *traced, mc.settings, label);
      mc.notes.push_back("the profile's stage_times are not used: " + why_not + "; its per-layer times are" +
                         (hops ? ", and the median of its measured hops for every hop" : ""));
    }
  }
  repeat_for_copies(mc.table, copies);
  mc.memory_limit_bytes = config.memory_limit_bytes.value_or(mc.hardware.memory_bytes);
  std::string parts;
  for (int l : mc.partition.layers_per_stage) parts += (parts.empty() ? "" : ", ") + std::to_string(l);
  const char* how = overrides.partition              ? "explicit"
                    : config.partition_auto && traced_stage_count ? "from the profile's stage_times"
                    : config.partition_auto                       ? "auto"
                                                                  : "explicit";
  mc.notes.push_back(std::string("partition ") + how + ": [" + parts +
                     "] blocks per virtual stage; embedding on stage " + std::to_string(mc.partition.embedding_stage) +
                     ", head on stage " + std::to_string(mc.partition.head()) +
                     (copies > 1 ? "; " + std::to_string(copies) + " model copies (stage " + std::to_string(stages * chunks) +
                                       " + v holds what stage v holds)"
                                 : std::string()));
  mc.notes.push_back("stage times from " + mc.table.stages.front().source +
                     (mc.table.stages.front().source != mc.table.stages.back().source ? " .. " + mc.table.stages.back().source : "") +
                     "; transfers from " + mc.table.transfer_source + " (" + gib(mc.table.boundary_bytes) +
                     " per hop, " + format_duration(mc.table.transfer) + ")");
  return mc;
}

}  // namespace ppsim
