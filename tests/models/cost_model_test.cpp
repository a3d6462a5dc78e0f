#include "models/cost_model.h"

#include <gtest/gtest.h>

#include "models/model_loader.h"
#include "base/error.h"

namespace ppsim {
namespace {

ModelSpec gpt(int layers, int h, int heads, int vocab) {
  ModelSpec m;
  m.name = "gpt";
  m.layers = layers;
  m.hidden = h;
  m.ffn_hidden = 4 * h;
  m.heads = heads;
  m.kv_heads = heads;
  m.vocab = vocab;
  m.max_positions = 4096;
  return m;
}

struct Shape {
  int b, s, h, a;
};

class GptBlock : public testing::TestWithParam<Shape> {};

// Zero-bubble pipeline parallelism (Qi et al. 2023), Table 1: per-layer F, B and W FLOPs of a GPT
// block with ffn = 4h, computed here straight from the published expressions.
TEST_P(GptBlock, FlopsMatchZeroBubbleTable1) {
  const auto [b, s, h, a] = GetParam();
  const LayerCost c = block_cost(gpt(1, h, a, 1000), LayerShape{b, s, DType::BF16, Recompute::None});
  const double sbh = double(s) * b * h;
  EXPECT_EQ(c.forward_flops, sbh * (24.0 * h + 4.0 * s));
  EXPECT_EQ(c.backward_input_flops, sbh * (24.0 * h + 8.0 * s));
  EXPECT_EQ(c.backward_weight_flops, 24.0 * s * b * h * h);
}

// Korthikanti et al. 2022 ("Reducing Activation Recomputation in Large Transformer Models"),
// Section 4.1 and Table 2: bytes stashed per layer with 16-bit activations.
TEST_P(GptBlock, ActivationBytesMatchKorthikanti) {
  const auto [b, s, h, a] = GetParam();
  const ModelSpec m = gpt(1, h, a, 1000);
  const std::int64_t sbh = std::int64_t(s) * b * h;
  // sbh(34 + 5as/h) = 34sbh + 5as^2b
  EXPECT_EQ(block_cost(m, {b, s, DType::BF16, Recompute::None}).activation_bytes, 34 * sbh + 5LL * a * s * s * b);
  EXPECT_EQ(block_cost(m, {b, s, DType::FP16, Recompute::Selective}).activation_bytes, 34 * sbh);
  EXPECT_EQ(block_cost(m, {b, s, DType::BF16, Recompute::Full}).activation_bytes, 2 * sbh);
}

TEST_P(GptBlock, RecomputeAddsTheForwardToTheBackward) {
  const auto [b, s, h, a] = GetParam();
  const ModelSpec m = gpt(1, h, a, 1000);
  const LayerCost none = block_cost(m, {b, s, DType::BF16, Recompute::None});
  const LayerCost full = block_cost(m, {b, s, DType::BF16, Recompute::Full});
  const LayerCost selective = block_cost(m, {b, s, DType::BF16, Recompute::Selective});
  EXPECT_EQ(full.forward_flops, none.forward_flops);
  EXPECT_EQ(full.backward_input_flops, none.backward_input_flops + none.forward_flops);
  EXPECT_EQ(full.backward_weight_flops, none.backward_weight_flops);
  // Selective recompute runs QK^T and scores x V again: 4bs^2h.
  EXPECT_EQ(selective.backward_input_flops, none.backward_input_flops + 4.0 * b * s * s * h);
  EXPECT_GT(full.backward_input_bytes, none.backward_input_bytes);
}

INSTANTIATE_TEST_SUITE_P(Shapes, GptBlock,
                         testing::Values(Shape{1, 128, 64, 4}, Shape{4, 1024, 768, 12}, Shape{1, 2048, 12288, 96},
                                         Shape{8, 4096, 4096, 32}, Shape{3, 100, 240, 6}));

// Megatron-LM (Narayanan et al. 2021, Section 5.1 / Appendix): FLOPs per iteration
// 96 B s l h^2 (1 + s/6h + V/16lh) for a GPT model. The 96 = 4 x 24 counts F + B + W plus the
// forward again of full activation recomputation; the V term is the LM head's 6BshV (never
// recomputed). Our per-layer sum with Recompute::Full must reproduce it exactly, and without
// recompute the same derivation gives 72 B s l h^2 (1 + s/6h + V/12lh).
TEST(CostModel, MegatronFlopsPerIterationMatchesThePerLayerSum) {
  for (const char* name : {"gpt3-125m", "gpt3-2.7b", "gpt3-175b", "tiny"}) {
    const ModelSpec m = load_model(name);
    for (auto [bb, ss, mm] : {std::tuple{1, 2048, 8}, std::tuple{4, 1024, 3}, std::tuple{2, 128, 16}}) {
      // Plain copies: clang 14 cannot capture structured bindings in a lambda.
      const int b = bb, s = ss, microbatches = mm;
      const long double B = static_cast<long double>(b) * microbatches, S = s, l = m.layers, h = m.hidden,
                        V = m.vocab;
      auto per_iteration = [&](Recompute r) {
        const LayerShape shape{b, s, DType::BF16, r};
        auto fbw = [](const LayerCost& c) {
          return static_cast<long double>(c.forward_flops) + c.backward_input_flops + c.backward_weight_flops;
        };
        return microbatches *
               (fbw(embedding_cost(m, shape)) + l * fbw(block_cost(m, shape)) + fbw(head_cost(m, shape, false)));
      };
      const long double megatron = 96 * B * S * l * h * h * (1 + S / (6 * h) + V / (16 * l * h));
      const long double no_recompute = 72 * B * S * l * h * h * (1 + S / (6 * h) + V / (12 * l * h));
      EXPECT_NEAR(static_cast<double>(per_iteration(Recompute::Full) / megatron), 1.0, 1e-12) << name;
      EXPECT_NEAR(static_cast<double>(per_iteration(Recompute::None) / no_recompute), 1.0, 1e-12) << name;
    }
  }
}

TEST(CostModel, GqaShrinksOnlyTheKeyValueProjections) {
  ModelSpec mha = gpt(1, 512, 8, 1000);
  ModelSpec gqa = mha;
  gqa.kv_heads = 2;
  const LayerShape shape{2, 256, DType::BF16, Recompute::None};
  const double b = 2, s = 256, h = 512, kv = 2 * 64;
  // K and V projections go from h x h to h x kv each: 2 * 2bsh(h - kv) fewer FLOPs in F, B and W.
  const double saved = 2 * 2 * b * s * h * (h - kv);
  EXPECT_EQ(block_cost(mha, shape).forward_flops - block_cost(gqa, shape).forward_flops, saved);
  EXPECT_EQ(block_cost(mha, shape).backward_input_flops - block_cost(gqa, shape).backward_input_flops, saved);
  EXPECT_EQ(block_cost(mha, shape).backward_weight_flops - block_cost(gqa, shape).backward_weight_flops, saved);
  EXPECT_EQ(block_params(mha) - block_params(gqa), 2 * (512 * (512 - 128) + (512 - 128)));
  // K and V stashes shrink from 2sbh each to 2sb*kv each.
  EXPECT_EQ(block_cost(mha, shape).activation_bytes - block_cost(gqa, shape).activation_bytes,
            static_cast<std::int64_t>(2 * 2 * s * b * (h - kv)));
}

TEST(CostModel, SwigluWithTwoThirdsFfnCostsTheSameFlopsAsGelu) {
  // Three h x f matrices with f = 8h/3 have the FLOPs of two h x 4h matrices.
  ModelSpec gelu = gpt(1, 768, 12, 1000);
  ModelSpec swiglu = gelu;
  swiglu.activation = Activation::SwiGlu;
  swiglu.ffn_hidden = 2048;
  const LayerShape shape{1, 512, DType::BF16, Recompute::None};
  EXPECT_EQ(block_cost(gelu, shape).forward_flops, block_cost(swiglu, shape).forward_flops);
  EXPECT_EQ(block_cost(gelu, shape).backward_input_flops, block_cost(swiglu, shape).backward_input_flops);
  EXPECT_EQ(block_cost(gelu, shape).backward_weight_flops, block_cost(swiglu, shape).backward_weight_flops);
  // SwiGLU stashes gate, up and their product (3 x 2sbf) instead of GeLU's input and output (2 x 2sb4h).
  const std::int64_t sb = 512;
  EXPECT_EQ(block_cost(swiglu, shape).activation_bytes - block_cost(gelu, shape).activation_bytes,
            3 * 2 * sb * 2048 - 2 * 2 * sb * 4 * 768);
}

TEST(CostModel, HeadEmbeddingAndBoundary) {
  const ModelSpec m = load_model("tiny");  // h = 64, V = 512, tied
  const LayerShape shape{2, 128, DType::BF16, Recompute::Full};
  const LayerCost head = head_cost(m, shape, false);
  const double sbhv = 2.0 * 128 * 64 * 512;
  EXPECT_EQ(head.forward_flops, 2 * sbhv);
  EXPECT_EQ(head.backward_input_flops, 2 * sbhv);  // the head is never recomputed
  EXPECT_EQ(head.backward_weight_flops, 2 * sbhv);
  EXPECT_EQ(head.params, 2 * 64);  // tied: the LayerNorm only
  EXPECT_EQ(head_cost(m, shape, true).params, 2 * 64 + 512 * 64);
  // Final-norm and LM-head inputs (2 x 2sbh) and the fp32 logits (4sbV).
  EXPECT_EQ(head.activation_bytes, 2 * 2 * 256 * 64 + 4 * 256 * 512);
  const LayerCost emb = embedding_cost(m, shape);
  EXPECT_EQ(emb.forward_flops, 0);
  EXPECT_EQ(emb.params, (512 + 256) * 64);  // tokens + learned positions
  EXPECT_EQ(boundary_activation_bytes(m, shape), 2 * 128 * 64 * 2);
  EXPECT_EQ(boundary_activation_bytes(m, {2, 128, DType::FP32, Recompute::None}), 2 * 128 * 64 * 4);
}

// ZeRO's mixed-precision Adam (Rajbhandari et al. 2020, section 3.1): 2 + 2 + K bytes, K = 12.
TEST(CostModel, MixedPrecisionAdamIsZerosTwoPlusTwoPlusTwelve) {
  const BytesPerParam bf16 = adam_bytes_per_param(DType::BF16);
  EXPECT_EQ(bf16.params, 2);
  EXPECT_EQ(bf16.grads, 2);
  EXPECT_EQ(bf16.optimizer, 12);
  const BytesPerParam fp32 = adam_bytes_per_param(DType::FP32);
  EXPECT_EQ(fp32.params + fp32.grads + fp32.optimizer, 16);
}

TEST(CostModel, ParseRecompute) {
  EXPECT_EQ(parse_recompute("selective", "x"), Recompute::Selective);
  EXPECT_EQ(std::string(to_string(Recompute::Full)), "full");
  EXPECT_THROW(parse_recompute("some", "x"), InputError);
}

}  // namespace
}  // namespace ppsim
