#include "models/stage_costs.h"

#include <cmath>
#include <algorithm>
#include <set>

#include "models/roofline.h"
#include "base/error.h"

namespace ppsim {
namespace {

void validate_settings(const CostSettings& s, const std::string& where) {
  auto positive = [&](int v, const char* name) {
    if (v < 1) throw InputError(where + ": " + name + " must be at least 1, got " + std::to_string(v));
  };
  positive(s.micro_batch_size, "micro_batch_size");
  positive(s.sequence_length, "sequence_length");
  positive(s.stages, "stages");
  positive(s.chunks, "chunks");
  if (s.efficiency) {
    for (double e : {s.efficiency->compute, s.efficiency->memory, s.efficiency->network})
      if (!(e > 0 && e <= 1))
        throw InputError(where + ": efficiencies are fractions of the peak in (0, 1], got " + std::to_string(e));
  }
}

PassTimes roofline_pass(const LayerCost& c, const HardwareSpec& hw, DType d, const Efficiency& eff) {
  return {roofline_time(c.forward_flops, c.forward_bytes, hw, d, eff),
          roofline_time(c.backward_input_flops, c.backward_input_bytes, hw, d, eff),
          roofline_time(c.backward_weight_flops, c.backward_weight_bytes, hw, d, eff)};
}

std::string profile_source(const MeasuredLayerTimes& m) { return "profile:" + m.source; }

// A stage's source: the single source of its layer types, or every type's source when they differ.
std::string combine_sources(const std::vector<std::pair<std::string, std::string>>& parts) {
  std::set<std::string> distinct;
  for (const auto& [type, src] : parts) distinct.insert(src);
  if (distinct.size() == 1) return *distinct.begin();
  std::string out = "mixed(";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i].first + "=" + parts[i].second;
  return out + ")";
}

}  // namespace

LayerTypeTimes layer_type_times(const ModelSpec& m, const HardwareSpec& hw, const CostSettings& s,
                                const std::optional<MeasuredLayerTimes>& measured) {
  const Efficiency eff = s.efficiency.value_or(hw.efficiency);
  const LayerShape shape = s.shape();
  LayerTypeTimes t;
  t.embedding = roofline_pass(embedding_cost(m, shape), hw, s.dtype, eff);
  t.block = roofline_pass(block_cost(m, shape), hw, s.dtype, eff);
  t.head = roofline_pass(head_cost(m, shape, false), hw, s.dtype, eff);
  t.embedding_source = t.block_source = t.head_source = "roofline";
  if (!measured) return t;
  if (measured->embedding) {
    t.embedding = *measured->embedding;
    t.embedding_source = profile_source(*measured);
  }
  if (measured->head) {
    t.head = *measured->head;
    t.head_source = profile_source(*measured);
  }
  if (measured->block) {
    PassTimes b = *measured->block;
    if (s.recompute == Recompute::Full) b.backward_input += b.forward;
    if (s.recompute == Recompute::Selective) {
      // The measurement does not split the forward: scale it by the attention core's FLOP share.
      LayerShape plain = shape;
      plain.recompute = Recompute::None;
      const double share = attention_core_flops(m, shape) / block_cost(m, plain).forward_flops;
      b.backward_input += static_cast<TimeNs>(std::llround(static_cast<double>(b.forward) * share));
    }
    t.block = b;
    t.block_source = profile_source(*measured);
  }
  return t;
}

Partition auto_partition(const ModelSpec& m, const HardwareSpec& hw, const CostSettings& s,
                         const std::optional<MeasuredLayerTimes>& measured, const std::string& where) {
  validate_settings(s, where);
  const LayerTypeTimes t = layer_type_times(m, hw, s, measured);
  const int n = s.stages * s.chunks;
  auto total = [](const PassTimes& p) { return p.forward + p.backward_input + p.backward_weight; };
  std::vector<TimeNs> blocks(m.layers, total(t.block));
  std::vector<TimeNs> extra(n, 0);
  extra[0] += total(t.embedding);
  extra[n - 1] += total(t.head);
  Partition p;
  p.layers_per_stage = min_bottleneck_split(blocks, extra, n, where);
  return p;
}

StageCostTable build_stage_costs(const ModelSpec& m, const HardwareSpec& hw, const CostSettings& s, const Partition& p,
                                 const std::optional<MeasuredLayerTimes>& measured, const std::string& where) {
  validate_settings(s, where);
  validate_partition(p, m.layers, s.stages, s.chunks, where);
  const LayerShape shape = s.shape();
  const LayerTypeTimes t = layer_type_times(m, hw, s, measured);
  const BytesPerParam bpp = adam_bytes_per_param(s.dtype);
  const int embedding_rank = s.rank_of(p.embedding_stage);
  const int head_rank = s.rank_of(p.head());
  const LayerCost emb = embedding_cost(m, shape);
  const LayerCost block = block_cost(m, shape);
  const LayerCost head = head_cost(m, shape, m.tied_embeddings && embedding_rank != head_rank);

  StageCostTable table;
  table.pipeline_stages = s.stages;
  table.chunks = s.chunks;
  int next_layer = 0;
  for (int v = 0; v < p.virtual_stages(); ++v) {
    StageCost c;
    c.first_layer = next_layer;
    c.num_layers = p.layers_per_stage[v];
    next_layer += c.num_layers;
    c.has_embedding = v == p.embedding_stage;
    c.has_head = v == p.head();
    std::vector<std::pair<std::string, std::string>> sources;
    auto add = [&](const LayerCost& cost, const PassTimes& time, std::int64_t count) {
      c.forward += count * time.forward;
      c.backward_input += count * time.backward_input;
      c.backward_weight += count * time.backward_weight;
      const double n = static_cast<double>(count);
      c.forward_flops += n * cost.forward_flops;
      c.backward_input_flops += n * cost.backward_input_flops;
      c.backward_weight_flops += n * cost.backward_weight_flops;
      c.activation_bytes += count * cost.activation_bytes;
      c.params += count * cost.params;
    };
    if (c.has_embedding) {
      add(emb, t.embedding, 1);
      sources.emplace_back("embedding", t.embedding_source);
    }
    if (c.num_layers > 0) {
      add(block, t.block, c.num_layers);
      sources.emplace_back("blocks", t.block_source);
    }
    if (c.has_head) {
      add(head, t.head, 1);
      sources.emplace_back("head", t.head_source);
    }
    c.source = combine_sources(sources);
    c.param_bytes = c.params * bpp.params;
    c.grad_bytes = c.params * bpp.grads;
    c.optimizer_bytes = c.params * bpp.optimizer;
    table.stages.push_back(c);
  }

  table.boundary_bytes = boundary_activation_bytes(m, shape);
  const double bytes = static_cast<double>(table.boundary_bytes);
  const Efficiency eff = s.efficiency.value_or(hw.efficiency);
  const TimeNs intra = link_time(bytes, hw.intra_node, eff);
  const TimeNs inter = link_time(bytes, hw.inter_node, eff);
  std::set<std::string> used;
  for (int v = 0; v + 1 < p.virtual_stages(); ++v) {
    const int from = s.rank_of(v), to = s.rank_of(v + 1);
    TimeNs hop = 0;
    const bool same_node = s.link == LinkChoice::IntraNode ||
                           (s.link == LinkChoice::Auto && from / hw.gpus_per_node == to / hw.gpus_per_node);
    if (from == to) {
      hop = 0;
    } else if (!same_node && measured && measured->inter_node_link) {  // measured between nodes (mpirun)
      hop = link_time(bytes, *measured->inter_node_link);
      used.insert(profile_source(*measured) + "#inter_node");
    } else if (measured && measured->link) {
      hop = link_time(bytes, *measured->link);
      used.insert(profile_source(*measured));
    } else {
      hop = same_node ? intra : inter;
      used.insert(same_node ? "spec:intra_node" : "spec:inter_node");
    }
    table.boundary_transfer.push_back(hop);
    table.transfer = std::max(table.transfer, hop);
  }
  if (used.empty()) {  // one rank: report what a hop would cost
    table.transfer = measured && measured->link ? link_time(bytes, *measured->link)
                                                : (s.link == LinkChoice::InterNode ? inter : intra);
    used.insert(measured && measured->link ? profile_source(*measured)
                                           : (s.link == LinkChoice::InterNode ? "spec:inter_node" : "spec:intra_node"));
  }
  bool all_spec = true;
  std::string joined;
  for (const auto& u : used) {
    all_spec = all_spec && u.rfind("spec:", 0) == 0;
    joined += (joined.empty() ? "" : ", ") + u;
  }
  table.transfer_source = used.size() == 1 ? *used.begin() : all_spec ? "spec:mixed" : "mixed(" + joined + ")";

  LayerShape plain = shape;
  plain.recompute = Recompute::None;
  auto fbw = [](const LayerCost& c) { return c.forward_flops + c.backward_input_flops + c.backward_weight_flops; };
  table.model_flops_per_microbatch =
      fbw(embedding_cost(m, plain)) + m.layers * fbw(block_cost(m, plain)) + fbw(head_cost(m, plain, false));
  return table;
}

}  // namespace ppsim
