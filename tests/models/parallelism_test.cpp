// Tensor, sequence and data parallelism and ZeRO in the cost model (issue 12), against the
// published formulas and their worked examples.
#include "models/parallelism.h"

#include <cmath>

#include <gtest/gtest.h>

#include "models/cost_model.h"
#include "models/hardware.h"
#include "models/model_loader.h"
#include "models/stage_costs.h"

namespace ppsim {
namespace {

LayerShape shape(int t, bool sp, Recompute r, int b = 1, int s = 2048) {
  LayerShape x;
  x.micro_batch_size = b;
  x.sequence_length = s;
  x.recompute = r;
  x.tensor_parallel = t;
  x.sequence_parallel = sp;
  return x;
}

// Korthikanti et al. 2022, Table 2: activation bytes per layer of a GPT block (16-bit) under
// tensor parallelism t, sequence parallelism and selective/full recompute. GPT-3 175B's layer
// (Table 3's model: a = 96, h = 12288, s = 2048, b = 1, t = 8).
TEST(Korthikanti, ActivationsPerLayerMatchTable2) {
  const ModelSpec m = load_model("gpt3-175b");
  const double s = 2048, b = 1, h = m.hidden, a = m.heads, t = 8;
  const double sbh = s * b * h;
  auto bytes = [&](bool sp, Recompute r) { return static_cast<double>(block_cost(m, shape(8, sp, r)).activation_bytes); };
  EXPECT_DOUBLE_EQ(bytes(false, Recompute::None), sbh * (10 + 24 / t + 5 * a * s / (h * t)));
  EXPECT_DOUBLE_EQ(bytes(true, Recompute::None), sbh * (34 / t + 5 * a * s / (h * t)));
  EXPECT_DOUBLE_EQ(bytes(false, Recompute::Selective), sbh * (10 + 24 / t));
  EXPECT_DOUBLE_EQ(bytes(true, Recompute::Selective), sbh * 34 / t);
  EXPECT_DOUBLE_EQ(bytes(true, Recompute::Full), sbh * 2 / t);
  EXPECT_DOUBLE_EQ(bytes(false, Recompute::Full), sbh * 2);
  // Per sbh: 34/t = 4.25 with sequence parallelism + selective recompute, against
  // 10 + 24/t + 5as/(ht) = 23 with tensor parallelism alone (18.5 % is left).
  EXPECT_NEAR(bytes(true, Recompute::Selective) / bytes(false, Recompute::None), 4.25 / (10 + 3 + 5 * 96 * 2048 / (12288.0 * 8)),
              1e-12);
}

// Megatron's tensor-parallel collectives per block (Shoeybi et al. 2019, Figure 4: f and g):
// two all-reduces in F and two in B of the s x b x h activation; with sequence parallelism each
// becomes an all-gather + reduce-scatter (Korthikanti et al. 2022, section 4.2.2), and W gathers
// the sharded GEMM inputs again.
TEST(TensorParallel, CollectivesPerBlock) {
  const ModelSpec m = load_model("gpt3-175b");
  const LayerCost plain = block_cost(m, shape(8, false, Recompute::None));
  EXPECT_EQ(plain.forward_comm.allreduce, 2);
  EXPECT_EQ(plain.backward_input_comm.allreduce, 2);
  EXPECT_TRUE(plain.backward_weight_comm.empty());
  EXPECT_DOUBLE_EQ(plain.forward_comm.bytes, 2.0 * 2048 * 12288);
  const LayerCost sp = block_cost(m, shape(8, true, Recompute::None));
  EXPECT_EQ(sp.forward_comm.allreduce, 0);
  EXPECT_EQ(sp.forward_comm.allgather, 2);
  EXPECT_EQ(sp.forward_comm.reduce_scatter, 2);
  EXPECT_EQ(sp.backward_weight_comm.allgather, 2);
  EXPECT_TRUE(block_cost(m, shape(1, false, Recompute::None)).forward_comm.empty());
  // Per-GPU FLOPs: the GEMMs and attention split over t exactly.
  const LayerCost one = block_cost(m, shape(1, false, Recompute::None));
  EXPECT_DOUBLE_EQ(plain.forward_flops * 8, one.forward_flops);
  EXPECT_DOUBLE_EQ(plain.backward_weight_flops * 8, one.backward_weight_flops);
}

// NCCL's algorithms under the α-β model: a ring all-reduce moves 2(n-1)/n of the buffer in 2(n-1)
// steps; a double binary tree 2 x the buffer in 2 log2 n steps; the faster is taken.
TEST(Collectives, RingAndTreeAlphaBeta) {
  // 1 GB over 8 GPUs at 100 GB/s, no latency: ring 17.5 ms beats tree 20 ms.
  EXPECT_DOUBLE_EQ(allreduce_seconds(1e9, 8, 0, 1e11), 2.0 * 7 / 8 * 1e9 / 1e11);
  // 1 KB with 10 us latency: tree 2 x 3 x 10 us + 20 ns beats ring 14 x 10 us + ...
  EXPECT_DOUBLE_EQ(allreduce_seconds(1e3, 8, 1e-5, 1e11), 6e-5 + 2e3 / 1e11);
  EXPECT_DOUBLE_EQ(reduce_scatter_seconds(8e8, 4, 2e-6, 1e11), 3 * 2e-6 + 0.75 * 8e8 / 1e11);
  EXPECT_DOUBLE_EQ(all_gather_seconds(8e8, 4, 2e-6, 1e11), reduce_scatter_seconds(8e8, 4, 2e-6, 1e11));
  EXPECT_EQ(allreduce_seconds(1e9, 1, 1e-5, 1e11), 0);
  // All-reduce = reduce-scatter + all-gather for the ring (what ZeRO-1 does in two halves).
  EXPECT_DOUBLE_EQ(2 * reduce_scatter_seconds(1e9, 64, 0, 1e11), 2.0 * 63 / 64 * 1e9 / 1e11);
}

// ZeRO (Rajbhandari et al. 2020), Figure 1: a 7.5 B-parameter model on Nd = 64 GPUs with mixed-
// precision Adam (K = 12) takes 120 GB per GPU as the baseline, 31.4 GB with P_os, 16.6 GB with
// P_os+g and 1.9 GB with P_os+g+p.
TEST(Zero, Figure1WorkedExample) {
  const double psi = 7.5e9;
  auto gb = [&](int zero) {
    const ShardedBytesPerParam b = zero_bytes_per_param(DType::BF16, zero, 64);
    return psi * (b.params + b.grads + b.optimizer) / 1e9;
  };
  EXPECT_DOUBLE_EQ(gb(0), 120.0);
  EXPECT_NEAR(gb(1), 31.4, 0.05);
  EXPECT_NEAR(gb(2), 16.6, 0.05);
  EXPECT_NEAR(gb(3), 1.9, 0.05);
}

// Ranks on GPUs: tensor innermost, then pipeline, then data (the default); a placement reorders.
TEST(Placement, GpuIdsAndLinks) {
  Parallelism p;
  p.tensor = 8;
  p.data = 2;
  EXPECT_EQ(p.gpu(3, 0, 0, 4), 3);
  EXPECT_EQ(p.gpu(0, 1, 0, 4), 8);
  EXPECT_EQ(p.gpu(0, 0, 1, 4), 32);
  EXPECT_EQ(link_of_group({0, 1, 7}, 8), CollectiveLink::IntraNode);
  EXPECT_EQ(link_of_group({0, 8}, 8), CollectiveLink::InterNode);
  p.placement = {ParallelDim::Data, ParallelDim::Tensor, ParallelDim::Pipeline};
  EXPECT_EQ(p.gpu(0, 0, 1, 4), 1);
  EXPECT_EQ(p.gpu(1, 0, 0, 4), 2);
  EXPECT_EQ(p.gpu(0, 1, 0, 4), 16);
}

// A stage's training-step times follow its parameter shard and the data-parallel group's link.
TEST(TrainingStepCosts, FollowTheShardAndTheLink) {
  const ModelSpec m = load_model("gpt3-175b");
  const HardwareSpec hw = load_hardware("a100-80gb");
  CostSettings s;
  s.micro_batch_size = 1;
  s.sequence_length = 2048;
  s.stages = 8;
  s.chunks = 1;
  s.parallel.tensor = 8;
  s.parallel.data = 4;
  Partition p;
  p.layers_per_stage.assign(8, 12);
  const StageCostTable t = build_stage_costs(m, hw, s, p, std::nullopt);
  const StageCost& mid = t.stages[3];
  EXPECT_EQ(mid.params, 12 * block_params(m, 8));
  // d = 4 replicas of tensor rank 0 sit on GPUs 8 x 8 apart: different nodes.
  const double alpha = static_cast<double>(hw.inter_node.latency) * 1e-9;
  const double beta = hw.inter_node.bandwidth_bytes_per_s * hw.efficiency.network;
  const double bytes = 2.0 * static_cast<double>(mid.params);
  EXPECT_EQ(mid.grad_reduce, std::llround(allreduce_seconds(bytes, 4, alpha, beta) * 1e9));
  EXPECT_EQ(mid.param_gather, 0);  // no ZeRO
  EXPECT_EQ(mid.optimizer, std::llround(static_cast<double>(mid.params) * kOptimizerBytesPerParam /
                                        (hw.memory_bandwidth_bytes_per_s * hw.efficiency.memory) * 1e9));
  // ZeRO-1: reduce-scatter, then an all-gather of the updated shard; the update covers 1/d.
  s.parallel.zero = 1;
  const StageCost z = build_stage_costs(m, hw, s, p, std::nullopt).stages[3];
  EXPECT_EQ(z.grad_reduce, std::llround(reduce_scatter_seconds(bytes, 4, alpha, beta) * 1e9));
  EXPECT_EQ(z.param_gather, std::llround(all_gather_seconds(bytes, 4, alpha, beta) * 1e9));
  EXPECT_NEAR(static_cast<double>(z.optimizer), mid.optimizer / 4.0, 1.0);
  EXPECT_EQ(z.optimizer_bytes, std::llround(12.0 * mid.params / 4));
  // Sequence parallelism: the pipeline hop carries b s h / t.
  s.parallel.sequence = true;
  EXPECT_EQ(build_stage_costs(m, hw, s, p, std::nullopt).boundary_bytes, 2LL * 2048 * 12288 / 8);
  s.parallel.sequence = false;
  EXPECT_EQ(build_stage_costs(m, hw, s, p, std::nullopt).boundary_bytes, 2LL * 2048 * 12288);
}

// Tensor-parallel collectives go inside the pass times, timed on the intra-node link.
TEST(TensorParallel, PassTimesIncludeTheCollectives) {
  const ModelSpec m = load_model("gpt3-175b");
  const HardwareSpec hw = load_hardware("a100-80gb");
  CostSettings s;
  s.micro_batch_size = 1;
  s.sequence_length = 2048;
  s.stages = 8;
  s.parallel.tensor = 8;
  const LayerTypeTimes lt = layer_type_times(m, hw, s, std::nullopt);
  const double alpha = static_cast<double>(hw.intra_node.latency) * 1e-9;
  const double beta = hw.intra_node.bandwidth_bytes_per_s * hw.efficiency.network;
  const double one = allreduce_seconds(2.0 * 2048 * 12288, 8, alpha, beta);
  EXPECT_EQ(lt.block_comm.forward, std::llround(2 * one * 1e9));
  EXPECT_EQ(lt.block_comm.backward_input, std::llround(2 * one * 1e9));
  EXPECT_EQ(lt.block_comm.backward_weight, 0);
  EXPECT_GT(lt.block.forward, lt.block_comm.forward);
}

}  // namespace
}  // namespace ppsim
