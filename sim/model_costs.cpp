#include "sim/model_costs.h"

#include <algorithm>
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

OpCosts ModelCosts::op_costs() const {
  OpCosts c;
  for (const StageCost& s : table.stages) {
    c.forward.push_back(s.forward);
    c.backward_input.push_back(s.backward_input);
    c.backward_weight.push_back(s.backward_weight);
  }
  c.forward_transfer = table.boundary_transfer;
  c.backward_transfer = table.boundary_transfer;
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
  mc.settings.rank_of_stage.assign(schedule.rank_of_stage.begin(), schedule.rank_of_stage.begin() + stages * chunks);
  mc.notes.push_back("model " + mc.model.name + " (" + std::to_string(mc.model.layers) + " blocks, hidden " +
                     std::to_string(mc.model.hidden) + "), micro-batch " + std::to_string(config.micro_batch_size) +
                     " x sequence " + std::to_string(config.sequence_length) + ", " + to_string(config.dtype) +
                     ", recompute " + to_string(config.recompute));
  mc.notes.push_back("hardware " + mc.hardware.name + (config.hardware_defaulted ? " (default; set 'hardware:')" : ""));
  if (overrides.profile || !config.profile.empty()) {
    const Profile p = overrides.profile ? *overrides.profile : load_profile(config.profile);
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
  if (overrides.partition) {
    mc.partition = *overrides.partition;
  } else if (config.partition_auto) {
    mc.partition = auto_partition(mc.model, mc.hardware, mc.settings, mc.measured, config.partition_where);
  } else {
    mc.partition.layers_per_stage = config.partition;
    mc.partition.embedding_stage = config.embedding_stage;
    mc.partition.head_stage = config.head_stage;
  }
  mc.table = build_stage_costs(mc.model, mc.hardware, mc.settings, mc.partition, mc.measured, config.partition_where);
  repeat_for_copies(mc.table, copies);
  mc.memory_limit_bytes = config.memory_limit_bytes.value_or(mc.hardware.memory_bytes);
  std::string parts;
  for (int l : mc.partition.layers_per_stage) parts += (parts.empty() ? "" : ", ") + std::to_string(l);
  mc.notes.push_back(std::string("partition ") + (config.partition_auto && !overrides.partition ? "auto" : "explicit") + ": [" + parts +
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
