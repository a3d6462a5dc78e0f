#include "models/stage_costs.h"

#include <cmath>

#include <gtest/gtest.h>

#include "models/hardware.h"
#include "models/memory.h"
#include "models/model_loader.h"
#include "models/roofline.h"
#include "base/error.h"

namespace ppsim {
namespace {

CostSettings settings(int P, int V, Recompute r = Recompute::None) {
  CostSettings s;
  s.micro_batch_size = 2;
  s.sequence_length = 128;
  s.recompute = r;
  s.stages = P;
  s.chunks = V;
  return s;
}

Partition partition(std::vector<int> layers) {
  Partition p;
  p.layers_per_stage = std::move(layers);
  return p;
}

TEST(StageCosts, SumsLayerCostsPerVirtualStage) {
  const ModelSpec m = load_model("tiny");  // 8 blocks
  const HardwareSpec hw = load_hardware("h100-sxm");
  const CostSettings s = settings(2, 2);
  const StageCostTable t = build_stage_costs(m, hw, s, partition({2, 2, 2, 2}), std::nullopt);
  ASSERT_EQ(t.stages.size(), 4u);
  EXPECT_EQ(t.pipeline_stages, 2);
  EXPECT_EQ(t.chunks, 2);
  const LayerTypeTimes lt = layer_type_times(m, hw, s, std::nullopt);
  const LayerShape shape = s.shape();
  const LayerCost block = block_cost(m, shape);
  const Efficiency eff = hw.efficiency;
  EXPECT_EQ(lt.block.forward, roofline_time(block.forward_flops, block.forward_bytes, hw, DType::BF16, eff));

  EXPECT_TRUE(t.stages[0].has_embedding);
  EXPECT_FALSE(t.stages[0].has_head);
  EXPECT_TRUE(t.stages[3].has_head);
  EXPECT_EQ(t.stages[2].first_layer, 4);
  EXPECT_EQ(t.stages[1].forward, 2 * lt.block.forward);
  EXPECT_EQ(t.stages[1].backward_input, 2 * lt.block.backward_input);
  EXPECT_EQ(t.stages[1].backward_weight, 2 * lt.block.backward_weight);
  EXPECT_EQ(t.stages[0].forward, 2 * lt.block.forward + lt.embedding.forward);
  EXPECT_EQ(t.stages[3].backward_weight, 2 * lt.block.backward_weight + lt.head.backward_weight);
  EXPECT_EQ(t.stages[1].forward_flops, 2 * block.forward_flops);
  EXPECT_EQ(t.stages[1].activation_bytes, 2 * block.activation_bytes);
  for (const StageCost& c : t.stages) EXPECT_EQ(c.source, "roofline");

  // Parameters: tied embeddings with the head on rank 1 and the embedding on rank 0: the head keeps
  // its own copy of the word embeddings.
  EXPECT_EQ(t.stages[3].params, 2 * block_params(m) + head_params(m, true));
  EXPECT_EQ(t.stages[3].param_bytes, 2 * t.stages[3].params);
  EXPECT_EQ(t.stages[3].grad_bytes, 2 * t.stages[3].params);
  EXPECT_EQ(t.stages[3].optimizer_bytes, 12 * t.stages[3].params);
  // With one rank (P = 1, V = 2) the head shares the embedding's weights.
  const StageCostTable one = build_stage_costs(m, hw, settings(1, 2), partition({4, 4}), std::nullopt);
  EXPECT_EQ(one.stages[1].params, 4 * block_params(m) + head_params(m, false));

  // Boundary: s*b*h*2 bytes over NVLink (P = 2 <= 8 GPUs per node).
  EXPECT_EQ(t.boundary_bytes, 128 * 2 * 64 * 2);
  EXPECT_EQ(t.transfer, 3'000 + std::llround(32768.0 / (450e9 * 0.8) * 1e9));
  EXPECT_EQ(t.transfer_source, "spec:intra_node");
  CostSettings far = s;
  far.link = LinkChoice::InterNode;
  const StageCostTable tf = build_stage_costs(m, hw, far, partition({2, 2, 2, 2}), std::nullopt);
  EXPECT_EQ(tf.transfer, 6'000 + std::llround(32768.0 / (50e9 * 0.8) * 1e9));
  EXPECT_EQ(tf.transfer_source, "spec:inter_node");
  EXPECT_EQ(tf.boundary_transfer, std::vector<TimeNs>(3, tf.transfer));
  EXPECT_EQ(t.boundary_transfer, std::vector<TimeNs>(3, t.transfer));
}

TEST(StageCosts, HopsBetweenNodesUseTheInterNodeLink) {
  const ModelSpec m = load_model("gpt3-125m");  // 12 blocks
  const HardwareSpec hw = load_hardware("h100-sxm");
  // 12 ranks on 8-GPU nodes: only the hop from rank 7 to rank 8 leaves the node.
  const StageCostTable t =
      build_stage_costs(m, hw, settings(12, 1), partition(std::vector<int>(12, 1)), std::nullopt);
  const double bytes = 128 * 2 * 768 * 2;
  const TimeNs intra = 3'000 + std::llround(bytes / (450e9 * 0.8) * 1e9);
  const TimeNs inter = 6'000 + std::llround(bytes / (50e9 * 0.8) * 1e9);
  ASSERT_EQ(t.boundary_transfer.size(), 11u);
  for (int v = 0; v < 11; ++v) EXPECT_EQ(t.boundary_transfer[v], v == 7 ? inter : intra) << v;
  EXPECT_EQ(t.transfer, inter);
  EXPECT_EQ(t.transfer_source, "spec:mixed");
  // One rank with two chunks: the chunk boundary stays on the GPU.
  const StageCostTable one = build_stage_costs(m, hw, settings(1, 2), partition({6, 6}), std::nullopt);
  EXPECT_EQ(one.boundary_transfer, std::vector<TimeNs>{0});
  EXPECT_EQ(one.transfer_source, "spec:intra_node");
}

TEST(StageCosts, MeasuredInterNodeLinkIsUsedForHopsThatLeaveTheNode) {
  const ModelSpec m = load_model("gpt3-125m");  // 12 blocks
  const HardwareSpec hw = load_hardware("h100-sxm");
  const double bytes = 128 * 2 * 768 * 2;
  MeasuredLayerTimes measured;
  measured.link = LinkFit{2e-6, 100e9};
  measured.inter_node_link = LinkFit{20e-6, 10e9};
  measured.source = "prof.yaml";
  const TimeNs intra = 2'000 + std::llround(bytes / 100e9 * 1e9);
  const TimeNs inter = 20'000 + std::llround(bytes / 10e9 * 1e9);
  // Auto: 12 ranks on 8-GPU nodes, only the hop from rank 7 to rank 8 leaves the node.
  const StageCostTable t = build_stage_costs(m, hw, settings(12, 1), partition(std::vector<int>(12, 1)), measured);
  ASSERT_EQ(t.boundary_transfer.size(), 11u);
  for (int v = 0; v < 11; ++v) EXPECT_EQ(t.boundary_transfer[v], v == 7 ? inter : intra) << v;
  EXPECT_EQ(t.transfer, inter);
  EXPECT_EQ(t.transfer_source, "mixed(profile:prof.yaml, profile:prof.yaml#inter_node)");
  // Forced inter-node: every hop; forced intra-node: none.
  CostSettings far = settings(4, 1);
  far.link = LinkChoice::InterNode;
  const StageCostTable tf = build_stage_costs(m, hw, far, partition({3, 3, 3, 3}), measured);
  EXPECT_EQ(tf.boundary_transfer, std::vector<TimeNs>(3, inter));
  EXPECT_EQ(tf.transfer_source, "profile:prof.yaml#inter_node");
  CostSettings near = far;
  near.link = LinkChoice::IntraNode;
  EXPECT_EQ(build_stage_costs(m, hw, near, partition({3, 3, 3, 3}), measured).boundary_transfer,
            std::vector<TimeNs>(3, intra));
  // Only the inter-node fit measured (one GPU per node): hops inside a node use the spec's link.
  measured.link.reset();
  const StageCostTable only = build_stage_costs(m, hw, settings(12, 1), partition(std::vector<int>(12, 1)), measured);
  const TimeNs spec_intra = 3'000 + std::llround(bytes / (450e9 * 0.8) * 1e9);
  for (int v = 0; v < 11; ++v) EXPECT_EQ(only.boundary_transfer[v], v == 7 ? inter : spec_intra) << v;
  EXPECT_EQ(only.transfer_source, "mixed(profile:prof.yaml#inter_node, spec:intra_node)");
}

TEST(StageCosts, ModelFlopsAreMegatronsWithoutRecompute) {
  const ModelSpec m = load_model("gpt3-2.7b");
  const HardwareSpec hw = load_hardware("a100-80gb");
  CostSettings s = settings(4, 1, Recompute::Full);
  s.micro_batch_size = 1;
  s.sequence_length = 2048;
  const StageCostTable t = build_stage_costs(m, hw, s, partition({8, 8, 8, 8}), std::nullopt);
  const double b = 1, S = 2048, l = 32, h = 2560, V = 50257;
  EXPECT_NEAR(t.model_flops_per_microbatch / (72 * b * S * l * h * h * (1 + S / (6 * h) + V / (12 * l * h))), 1.0,
              1e-12);
  // The stages' own FLOPs include the recompute.
  double hardware_flops = 0;
  for (const StageCost& c : t.stages) hardware_flops += c.forward_flops + c.backward_input_flops + c.backward_weight_flops;
  EXPECT_NEAR(hardware_flops / (96 * b * S * l * h * h * (1 + S / (6 * h) + V / (16 * l * h))), 1.0, 1e-12);
}

TEST(StageCosts, ProfileTakesPrecedenceLayerTypeByLayerType) {
  const ModelSpec m = load_model("tiny");
  const HardwareSpec hw = load_hardware("h100-sxm");
  MeasuredLayerTimes measured;
  measured.block = PassTimes{1000, 1500, 900};
  measured.link = LinkFit{2e-6, 20e9};
  measured.source = "prof.yaml";
  const CostSettings s = settings(2, 1, Recompute::Full);
  const StageCostTable t = build_stage_costs(m, hw, s, partition({5, 3}), measured);
  const LayerTypeTimes lt = layer_type_times(m, hw, s, std::nullopt);
  // Full recompute adds the measured forward to the measured B.
  EXPECT_EQ(t.stages[0].forward, 5 * 1000 + lt.embedding.forward);
  EXPECT_EQ(t.stages[0].backward_input, 5 * 2500 + lt.embedding.backward_input);
  EXPECT_EQ(t.stages[1].backward_weight, 3 * 900 + lt.head.backward_weight);
  EXPECT_EQ(t.stages[0].source, "mixed(embedding=roofline, blocks=profile:prof.yaml)");
  EXPECT_EQ(t.stages[1].source, "mixed(blocks=profile:prof.yaml, head=roofline)");
  EXPECT_EQ(t.transfer, 2'000 + std::llround(32768.0 / 20e9 * 1e9));
  EXPECT_EQ(t.transfer_source, "profile:prof.yaml");

  measured.embedding = PassTimes{10, 0, 20};
  measured.head = PassTimes{100, 100, 100};
  const StageCostTable all = build_stage_costs(m, hw, s, partition({5, 3}), measured);
  EXPECT_EQ(all.stages[0].source, "profile:prof.yaml");
  EXPECT_EQ(all.stages[1].forward, 3 * 1000 + 100);
  EXPECT_EQ(all.stages[1].backward_input, 3 * 2500 + 100);  // the head is never recomputed

  // Selective: B grows by the attention core's share of the measured forward.
  const CostSettings sel = settings(2, 1, Recompute::Selective);
  const LayerShape plain{2, 128, DType::BF16, Recompute::None};
  const double share = attention_core_flops(m, plain) / block_cost(m, plain).forward_flops;
  EXPECT_EQ(layer_type_times(m, hw, sel, measured).block.backward_input, 1500 + std::llround(1000 * share));
}

TEST(StageCosts, AutoPartitionBalancesEmbeddingAndHead) {
  const ModelSpec m = load_model("gpt3-125m");  // 12 blocks, V = 50257: a heavy head
  const HardwareSpec hw = load_hardware("h100-sxm");
  CostSettings s = settings(4, 1);
  s.sequence_length = 2048;
  const Partition p = auto_partition(m, hw, s, std::nullopt);
  ASSERT_EQ(p.layers_per_stage.size(), 4u);
  const StageCostTable t = build_stage_costs(m, hw, s, p, std::nullopt);
  // Optimal against every other split of 12 blocks into 4 stages.
  TimeNs best = 0;
  for (const StageCost& c : t.stages) best = std::max(best, c.total());
  for (int a = 1; a <= 9; ++a)
    for (int b = 1; a + b <= 10; ++b)
      for (int c = 1; a + b + c <= 11; ++c) {
        const StageCostTable other = build_stage_costs(m, hw, s, partition({a, b, c, 12 - a - b - c}), std::nullopt);
        TimeNs worst = 0;
        for (const StageCost& st : other.stages) worst = std::max(worst, st.total());
        EXPECT_GE(worst, best);
      }
  EXPECT_LT(p.layers_per_stage[3], p.layers_per_stage[1]);  // the head's stage carries fewer blocks

  CostSettings too_many = settings(4, 4);
  EXPECT_THROW(auto_partition(m, hw, too_many, std::nullopt), InputError);
}

TEST(StageCosts, BadSettingsAndPartitions) {
  const ModelSpec m = load_model("tiny");
  const HardwareSpec hw = load_hardware("h200");
  CostSettings s = settings(2, 1);
  s.micro_batch_size = 0;
  EXPECT_THROW(build_stage_costs(m, hw, s, partition({4, 4}), std::nullopt), InputError);
  try {
    build_stage_costs(m, hw, settings(2, 1), partition({4, 5}), std::nullopt, "run.yaml:3:12: partition");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "run.yaml:3:12: partition: [4, 5] adds up to 9 layers but the model has 8");
  }
}

TEST(Memory, PerRankStaticAndActivationBytes) {
  const ModelSpec m = load_model("tiny");
  const HardwareSpec hw = load_hardware("h100-sxm");
  const StageCostTable t = build_stage_costs(m, hw, settings(2, 2), partition({2, 2, 2, 2}), std::nullopt);
  const std::vector<RankMemory> ranks = rank_memory(t);
  ASSERT_EQ(ranks.size(), 2u);
  EXPECT_EQ(ranks[0].virtual_stages, (std::vector<int>{0, 2}));
  EXPECT_EQ(ranks[1].virtual_stages, (std::vector<int>{1, 3}));
  const std::int64_t params0 = t.stages[0].params + t.stages[2].params;
  EXPECT_EQ(ranks[0].param_bytes, 2 * params0);
  EXPECT_EQ(ranks[0].static_bytes(), 16 * params0);
  EXPECT_EQ(ranks[1].activation_bytes_per_mb, (std::vector<std::int64_t>{t.stages[1].activation_bytes,
                                                                          t.stages[3].activation_bytes}));
  EXPECT_EQ(memory_bytes(ranks[1], {3, 1}),
            ranks[1].static_bytes() + 3 * t.stages[1].activation_bytes + t.stages[3].activation_bytes);

  EXPECT_NO_THROW(check_memory_limit(ranks, ranks[0].param_bytes + ranks[1].param_bytes, "memory_limit"));
  try {
    check_memory_limit(ranks, 1000, "run.yaml:9:15: memory_limit");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("run.yaml:9:15: memory_limit: memory limit of 1000 bytes is below rank 0's "
                                         "parameters alone"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ppsim
