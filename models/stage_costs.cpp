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
  positive(s.parallel.tensor, "tensor_parallel");
  positive(s.parallel.data, "data_parallel");
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

// The link the t GPUs of a tensor-parallel group share: intra-node when they fit in a node (the
// placement puts them there), else what `link:` says; a measured link fit replaces the spec's.
void tp_link(const HardwareSpec& hw, const CostSettings& s, const std::optional<MeasuredLayerTimes>& measured,
             const Efficiency& eff, double& alpha, double& beta) {
  const bool intra = s.parallel.tensor <= hw.gpus_per_node ? s.link != LinkChoice::InterNode : s.link == LinkChoice::IntraNode;
  if (measured && measured->link && intra) {
    alpha = measured->link->alpha_s;
    beta = measured->link->beta_bytes_per_s;
    return;
  }
  const LinkSpec& l = intra ? hw.intra_node : hw.inter_node;
  alpha = static_cast<double>(l.latency) * 1e-9;
  beta = l.bandwidth_bytes_per_s * eff.network;
}

// The link of pipeline rank `rank`'s data-parallel group (tensor rank 0 of each replica; the
// other tensor ranks' groups sit alike): the spec's, or a profile's fitted one of that kind.
void data_parallel_link(const HardwareSpec& hw, const CostSettings& s, const std::optional<MeasuredLayerTimes>& measured,
                        const Efficiency& eff, int rank, double& alpha, double& beta) {
  std::vector<int> members;
  for (int j = 0; j < s.parallel.data; ++j) members.push_back(s.parallel.gpu(0, rank, j, s.stages));
  const bool intra = link_of_group(members, hw.gpus_per_node) == CollectiveLink::IntraNode;
  const std::optional<LinkFit>& fit = measured ? (intra ? measured->link : measured->inter_node_link) : std::nullopt;
  if (fit) {
    alpha = fit->alpha_s;
    beta = fit->beta_bytes_per_s;
    return;
  }
  const LinkSpec& l = intra ? hw.intra_node : hw.inter_node;
  alpha = static_cast<double>(l.latency) * 1e-9;
  beta = l.bandwidth_bytes_per_s * eff.network;
}

TimeNs to_ns(double seconds) { return static_cast<TimeNs>(std::llround(seconds * 1e9)); }

PassTimes comm_pass(const LayerCost& c, int t, double alpha, double beta) {
  return {tp_comm_time(c.forward_comm, t, alpha, beta), tp_comm_time(c.backward_input_comm, t, alpha, beta),
          tp_comm_time(c.backward_weight_comm, t, alpha, beta)};
}

PassTimes plus(const PassTimes& a, const PassTimes& b) {
  return {a.forward + b.forward, a.backward_input + b.backward_input, a.backward_weight + b.backward_weight};
}

// A layer timed unsplit (a calibration profile) run on t GPUs: its compute divided by t.
PassTimes split(const PassTimes& p, int t) {
  auto d = [t](TimeNs x) { return static_cast<TimeNs>(std::llround(static_cast<double>(x) / t)); };
  return {d(p.forward), d(p.backward_input), d(p.backward_weight)};
}

// The stage's share of a training step (docs/cost-model.md, "The training step"): its gradients'
// data-parallel collective (gradients in the training dtype: all-reduce, or reduce-scatter under
// ZeRO), ZeRO's parameter all-gathers, and the optimizer update of its shard, memory-bound at
// kOptimizerBytesPerParam of HBM traffic per parameter.
void set_training_step_times(StageCost& c, const ModelSpec&, const HardwareSpec& hw, const CostSettings& s,
                             const std::optional<MeasuredLayerTimes>& measured, int rank) {
  const Efficiency eff = s.efficiency.value_or(hw.efficiency);
  const int d = s.parallel.data, zero = s.parallel.zero;
  const double params = static_cast<double>(c.params);
  const double bytes = params * dtype_bytes(s.dtype);
  double alpha = 0, beta = 1;
  data_parallel_link(hw, s, measured, eff, rank, alpha, beta);
  c.grad_reduce = to_ns(zero == 0 ? allreduce_seconds(bytes, d, alpha, beta) : reduce_scatter_seconds(bytes, d, alpha, beta));
  c.param_gather = zero >= 1 ? to_ns(all_gather_seconds(bytes, d, alpha, beta)) : 0;
  const double shard = zero >= 1 ? params / d : params;
  c.optimizer = to_ns(shard * kOptimizerBytesPerParam / (hw.memory_bandwidth_bytes_per_s * eff.memory));
}

}  // namespace

TimeNs tp_comm_time(const TpComm& c, int t, double alpha, double beta) {
  if (t <= 1 || c.empty()) return 0;
  const double seconds = c.allreduce * allreduce_seconds(c.bytes, t, alpha, beta) +
                         c.allgather * all_gather_seconds(c.bytes, t, alpha, beta) +
                         c.reduce_scatter * reduce_scatter_seconds(c.bytes, t, alpha, beta);
  return static_cast<TimeNs>(std::llround(seconds * 1e9));
}

LayerTypeTimes layer_type_times(const ModelSpec& m, const HardwareSpec& hw, const CostSettings& s,
                                const std::optional<MeasuredLayerTimes>& measured) {
  const Efficiency eff = s.efficiency.value_or(hw.efficiency);
  const LayerShape shape = s.shape();
  const int tp = s.parallel.tensor;
  const LayerCost emb = embedding_cost(m, shape), block = block_cost(m, shape), head = head_cost(m, shape, false);
  double alpha = 0, beta = 1;
  tp_link(hw, s, measured, eff, alpha, beta);
  LayerTypeTimes t;
  t.embedding_comm = comm_pass(emb, tp, alpha, beta);
  t.block_comm = comm_pass(block, tp, alpha, beta);
  t.head_comm = comm_pass(head, tp, alpha, beta);
  t.embedding = plus(roofline_pass(emb, hw, s.dtype, eff), t.embedding_comm);
  t.block = plus(roofline_pass(block, hw, s.dtype, eff), t.block_comm);
  t.head = plus(roofline_pass(head, hw, s.dtype, eff), t.head_comm);
  t.embedding_source = t.block_source = t.head_source = "roofline";
  if (!measured) return t;
  // A profile times the layers whole, on one device: with tensor parallelism their compute is
  // taken as divided by t, and the collectives are added (docs/cost-model.md).
  if (measured->embedding) {
    t.embedding = plus(split(*measured->embedding, tp), t.embedding_comm);
    t.embedding_source = profile_source(*measured);
  }
  if (measured->head) {
    t.head = plus(split(*measured->head, tp), t.head_comm);
    t.head_source = profile_source(*measured);
  }
  if (measured->block) {
    PassTimes b = split(*measured->block, tp);
    if (s.recompute == Recompute::Full) b.backward_input += b.forward;
    if (s.recompute == Recompute::Selective) {
      // The measurement does not split the forward: scale it by the attention core's FLOP share.
      LayerShape plain = shape;
      plain.recompute = Recompute::None;
      const double share = attention_core_flops(m, shape) / block_cost(m, plain).forward_flops;
      b.backward_input += static_cast<TimeNs>(std::llround(static_cast<double>(b.forward) * share));
    }
    t.block = plus(b, t.block_comm);
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
  const ShardedBytesPerParam bpp = zero_bytes_per_param(s.dtype, s.parallel.zero, s.parallel.data);
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
    auto add = [&](const LayerCost& cost, const PassTimes& time, const PassTimes& comm, std::int64_t count) {
      c.forward += count * time.forward;
      c.backward_input += count * time.backward_input;
      c.backward_weight += count * time.backward_weight;
      c.forward_comm += count * comm.forward;
      c.backward_input_comm += count * comm.backward_input;
      c.backward_weight_comm += count * comm.backward_weight;
      const double n = static_cast<double>(count);
      c.forward_flops += n * cost.forward_flops;
      c.backward_input_flops += n * cost.backward_input_flops;
      c.backward_weight_flops += n * cost.backward_weight_flops;
      c.activation_bytes += count * cost.activation_bytes;
      c.params += count * cost.params;
    };
    if (c.has_embedding) {
      add(emb, t.embedding, t.embedding_comm, 1);
      sources.emplace_back("embedding", t.embedding_source);
    }
    if (c.num_layers > 0) {
      add(block, t.block, t.block_comm, c.num_layers);
      sources.emplace_back("blocks", t.block_source);
    }
    if (c.has_head) {
      add(head, t.head, t.head_comm, 1);
      sources.emplace_back("head", t.head_source);
    }
    c.source = combine_sources(sources);
    const double n = static_cast<double>(c.params);
    c.param_bytes = static_cast<std::int64_t>(std::llround(n * bpp.params));
    c.grad_bytes = static_cast<std::int64_t>(std::llround(n * bpp.grads));
    c.optimizer_bytes = static_cast<std::int64_t>(std::llround(n * bpp.optimizer));
    set_training_step_times(c, m, hw, s, measured, s.rank_of(v));
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
    // Pipeline ranks sit on GPUs as the placement lays the dimensions out (tensor innermost by
    // default): the hop crosses nodes when the two GPUs of tensor rank 0 do.
    const int gpu_from = s.parallel.gpu(0, from, 0, s.stages), gpu_to = s.parallel.gpu(0, to, 0, s.stages);
    const bool same_node = s.link == LinkChoice::IntraNode ||
                           (s.link == LinkChoice::Auto && gpu_from / hw.gpus_per_node == gpu_to / hw.gpus_per_node);
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

  // The whole model's FLOPs for one micro-batch (one pipeline replica, all t GPUs of each layer):
  // without recompute for MFU, with it for HFU (hardware FLOPs, Korthikanti et al. 2022).
  LayerShape whole = shape;
  whole.tensor_parallel = 1;
  whole.sequence_parallel = false;
  auto fbw = [](const LayerCost& c) { return c.forward_flops + c.backward_input_flops + c.backward_weight_flops; };
  auto flops = [&](const LayerShape& sh) {
    return fbw(embedding_cost(m, sh)) + m.layers * fbw(block_cost(m, sh)) + fbw(head_cost(m, sh, false));
  };
  table.hardware_flops_per_microbatch = flops(whole);
  whole.recompute = Recompute::None;
  table.model_flops_per_microbatch = flops(whole);
  return table;
}

}  // namespace ppsim
