// The CPU layers against the float64 reference, and the reference's gradients against central finite
// differences, for every combination of norm, activation and attention grouping.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "calibrate/cpu/layers.h"
#include "calibrate/reference.h"
#include "tests/calibrate/finite_differences.h"

namespace ppsim {
namespace {

using cpu::Matrix;
using ref::RefMatrix;

struct Case {
  Norm norm;
  Activation activation;
  int kv_heads;
};

ModelSpec tiny_spec(const Case& c) {
  ModelSpec s;
  s.name = "unit";
  s.layers = 1;
  s.hidden = 8;
  s.ffn_hidden = 12;
  s.heads = 2;
  s.kv_heads = c.kv_heads;
  s.vocab = 11;
  s.norm = c.norm;
  s.activation = c.activation;
  return s;
}

constexpr int kSeq = 4;
constexpr int kMicroBatch = 2;
constexpr int kTokens = kSeq * kMicroBatch;

// Central differences of f w.r.t. every element of `param`, compared with `analytic`.
double max_fd_error(Matrix<double>& param, const Matrix<double>& analytic, const std::function<double()>& f) {
  const Matrix<double> fd = test::numeric_gradient(param, f);
  double worst = 0, scale = 1e-3;
  for (Eigen::Index i = 0; i < fd.size(); ++i) {
    worst = std::max(worst, std::abs(fd.data()[i] - analytic.data()[i]));
    scale = std::max(scale, std::abs(fd.data()[i]));
  }
  return worst / scale;
}

// Row vectors through the same helper.
double max_fd_error(cpu::RowVector<double>& param, const cpu::RowVector<double>& analytic,
                    const std::function<double()>& f) {
  Matrix<double> p = param, a = analytic;
  auto g = [&] {
    param = p;
    return f();
  };
  const double e = max_fd_error(p, a, g);
  param = p;
  return e;
}

template <class To, class From>
cpu::BlockWeights<To> cast_weights(const cpu::BlockWeights<From>& w) {
  return {w.wq.template cast<To>(),         w.wk.template cast<To>(),         w.wv.template cast<To>(),
          w.wo.template cast<To>(),         w.w1.template cast<To>(),         w.w2.template cast<To>(),
          w.w3.template cast<To>(),         w.norm1_gain.template cast<To>(), w.norm1_bias.template cast<To>(),
          w.norm2_gain.template cast<To>(), w.norm2_bias.template cast<To>()};
}

class LayersTest : public ::testing::TestWithParam<Case> {};

TEST_P(LayersTest, BlockForwardMatchesReference) {
  const ModelSpec spec = tiny_spec(GetParam());
  cpu::BlockT<double> block64(spec, kSeq, 1);
  cpu::CpuBlock block32(spec, kSeq, 1);
  block32.weights = cast_weights<float>(block64.weights);
  const RefMatrix x = cpu::random_matrix<double>(kTokens, spec.hidden, 1.0, 2);
  const RefMatrix expect = ref::block_forward(spec, block64.weights, x, kSeq);

  cpu::BlockStashT<double> st64;
  EXPECT_LT(ref::relative_error(block64.forward(x, st64), expect), 1e-12);
  cpu::BlockStash st32;
  const RefMatrix y32 = block32.forward(x.cast<float>(), st32).cast<double>();
  EXPECT_LT(ref::relative_error(y32, expect), 2e-6);
}

TEST_P(LayersTest, BlockGradientsMatchFiniteDifferences) {
  const ModelSpec spec = tiny_spec(GetParam());
  cpu::BlockT<double> block(spec, kSeq, 3);
  RefMatrix x = cpu::random_matrix<double>(kTokens, spec.hidden, 1.0, 4);
  const RefMatrix r = cpu::random_matrix<double>(kTokens, spec.hidden, 1.0, 5);
  // Scalar objective sum(y .* r), so dL/dy = r.
  auto objective = [&] { return ref::block_forward(spec, block.weights, x, kSeq).cwiseProduct(r).sum(); };

  cpu::BlockStashT<double> st;
  block.forward(x, st);
  const RefMatrix dx = block.backward_input(r, st);
  auto grads = cpu::BlockWeights<double>::zeros_like(block.weights);
  block.backward_weight(st, grads);

  const double tol = 1e-6;
  EXPECT_LT(max_fd_error(x, dx, objective), tol) << "input";
  auto& w = block.weights;
  EXPECT_LT(max_fd_error(w.wq, grads.wq, objective), tol) << "wq";
  EXPECT_LT(max_fd_error(w.wk, grads.wk, objective), tol) << "wk";
  EXPECT_LT(max_fd_error(w.wv, grads.wv, objective), tol) << "wv";
  EXPECT_LT(max_fd_error(w.wo, grads.wo, objective), tol) << "wo";
  EXPECT_LT(max_fd_error(w.w1, grads.w1, objective), tol) << "w1";
  EXPECT_LT(max_fd_error(w.w2, grads.w2, objective), tol) << "w2";
  if (spec.activation == Activation::SwiGlu) {
    EXPECT_LT(max_fd_error(w.w3, grads.w3, objective), tol) << "w3";
  }
  EXPECT_LT(max_fd_error(w.norm1_gain, grads.norm1_gain, objective), tol) << "norm1 gain";
  EXPECT_LT(max_fd_error(w.norm2_gain, grads.norm2_gain, objective), tol) << "norm2 gain";
  if (spec.norm == Norm::LayerNorm) {
    EXPECT_LT(max_fd_error(w.norm1_bias, grads.norm1_bias, objective), tol) << "norm1 bias";
    EXPECT_LT(max_fd_error(w.norm2_bias, grads.norm2_bias, objective), tol) << "norm2 bias";
  }
}

TEST_P(LayersTest, BlockFloatBackwardMatchesDouble) {
  const ModelSpec spec = tiny_spec(GetParam());
  cpu::BlockT<double> block64(spec, kSeq, 6);
  cpu::CpuBlock block32(spec, kSeq, 6);
  block32.weights = cast_weights<float>(block64.weights);
  const RefMatrix x = cpu::random_matrix<double>(kTokens, spec.hidden, 1.0, 7);
  const RefMatrix dy = cpu::random_matrix<double>(kTokens, spec.hidden, 1.0, 8);

  cpu::BlockStashT<double> st64;
  block64.forward(x, st64);
  const RefMatrix dx64 = block64.backward_input(dy, st64);
  auto g64 = cpu::BlockWeights<double>::zeros_like(block64.weights);
  block64.backward_weight(st64, g64);

  cpu::BlockStash st32;
  block32.forward(x.cast<float>(), st32);
  const RefMatrix dx32 = block32.backward_input(dy.cast<float>(), st32).cast<double>();
  auto g32 = cpu::BlockWeights<float>::zeros_like(block32.weights);
  block32.backward_weight(st32, g32);
  const auto g32d = cast_weights<double>(g32);

  const double tol = 2e-5;  // float32: a few ulps through a handful of reductions
  EXPECT_LT(ref::relative_error(dx32, dx64), tol);
  EXPECT_LT(ref::relative_error(g32d.wq, g64.wq), tol);
  EXPECT_LT(ref::relative_error(g32d.wk, g64.wk), tol);
  EXPECT_LT(ref::relative_error(g32d.wv, g64.wv), tol);
  EXPECT_LT(ref::relative_error(g32d.wo, g64.wo), tol);
  EXPECT_LT(ref::relative_error(g32d.w1, g64.w1), tol);
  EXPECT_LT(ref::relative_error(g32d.w2, g64.w2), tol);
  EXPECT_LT(ref::relative_error(g32d.norm1_gain, g64.norm1_gain), tol);
  EXPECT_LT(ref::relative_error(g32d.norm2_gain, g64.norm2_gain), tol);
}

TEST_P(LayersTest, HeadMatchesReferenceAndFiniteDifferences) {
  const ModelSpec spec = tiny_spec(GetParam());
  cpu::HeadT<double> head(spec, 9);
  RefMatrix x = cpu::random_matrix<double>(kTokens, spec.hidden, 1.0, 10);
  const cpu::Tokens targets = cpu::random_tokens(kTokens, spec.vocab, 11);
  auto objective = [&] { return ref::head_forward(spec, head.weights, x, targets); };

  cpu::HeadStashT<double> st;
  const double loss = head.forward(x, targets, st);
  EXPECT_NEAR(loss, objective(), 1e-12);
  const RefMatrix dx = head.backward_input(st);
  auto grads = cpu::HeadWeights<double>::zeros_like(head.weights);
  head.backward_weight(st, grads);

  const double tol = 1e-6;
  EXPECT_LT(max_fd_error(x, dx, objective), tol) << "input";
  EXPECT_LT(max_fd_error(head.weights.w_out, grads.w_out, objective), tol) << "w_out";
  EXPECT_LT(max_fd_error(head.weights.norm_gain, grads.norm_gain, objective), tol) << "gain";
  if (spec.norm == Norm::LayerNorm) {
    EXPECT_LT(max_fd_error(head.weights.norm_bias, grads.norm_bias, objective), tol) << "bias";
  }

  // float32 against float64.
  cpu::CpuHead head32(spec, 9);
  head32.weights = {head.weights.norm_gain.cast<float>(), head.weights.norm_bias.cast<float>(),
                    head.weights.w_out.cast<float>()};
  cpu::HeadStash st32;
  EXPECT_NEAR(head32.forward(x.cast<float>(), targets, st32), loss, 1e-5 * std::max(1.0, loss));
  const RefMatrix dx32 = head32.backward_input(st32).cast<double>();
  auto g32 = cpu::HeadWeights<float>::zeros_like(head32.weights);
  head32.backward_weight(st32, g32);
  EXPECT_LT(ref::relative_error(dx32, dx), 2e-5);
  EXPECT_LT(ref::relative_error(g32.w_out.cast<double>(), grads.w_out), 2e-5);
}

TEST_P(LayersTest, EmbeddingMatchesReferenceAndFiniteDifferences) {
  const ModelSpec spec = tiny_spec(GetParam());
  cpu::EmbeddingT<double> emb(spec, 12);
  // Repeated ids exercise the scatter-add of W.
  const cpu::Tokens ids = {1, 3, 3, 0, 10, 1, 1, 7};
  const RefMatrix r = cpu::random_matrix<double>(kTokens, spec.hidden, 1.0, 13);
  auto objective = [&] { return ref::embedding_forward(emb.weights, ids).cwiseProduct(r).sum(); };

  cpu::EmbeddingStashT<double> st;
  EXPECT_LT(ref::relative_error(emb.forward(ids, st), ref::embedding_forward(emb.weights, ids)), 1e-15);
  emb.backward_input(r, st);
  auto grads = cpu::EmbeddingWeights<double>::zeros_like(emb.weights);
  emb.backward_weight(st, grads);
  EXPECT_LT(max_fd_error(emb.weights.table, grads.table, objective), 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    AllVariants, LayersTest,
    ::testing::Values(Case{Norm::LayerNorm, Activation::Gelu, 2}, Case{Norm::RmsNorm, Activation::SwiGlu, 2},
                      Case{Norm::RmsNorm, Activation::SwiGlu, 1}, Case{Norm::LayerNorm, Activation::SwiGlu, 1},
                      Case{Norm::RmsNorm, Activation::Gelu, 1}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string n = info.param.norm == Norm::LayerNorm ? "LayerNorm" : "RmsNorm";
      n += info.param.activation == Activation::Gelu ? "Gelu" : "SwiGlu";
      n += info.param.kv_heads == 1 ? "Gqa" : "Mha";
      return n;
    });

TEST(Kernels, ReferenceAttentionIsCausal) {
  // Changing a later key/value must not change earlier outputs.
  RefMatrix q = cpu::random_matrix<double>(4, 4, 1.0, 20), k = cpu::random_matrix<double>(4, 4, 1.0, 21),
            v = cpu::random_matrix<double>(4, 4, 1.0, 22);
  const RefMatrix o1 = ref::causal_attention(q, k, v, 2, 2, 4);
  k.row(3).setConstant(5.0);
  v.row(3).setConstant(-5.0);
  const RefMatrix o2 = ref::causal_attention(q, k, v, 2, 2, 4);
  EXPECT_LT((o1.topRows(3) - o2.topRows(3)).cwiseAbs().maxCoeff(), 1e-15);
  EXPECT_GT((o1.row(3) - o2.row(3)).cwiseAbs().maxCoeff(), 1e-3);
  // The first row attends only to itself: its output is v's first row.
  EXPECT_LT((o1.row(0).head(2) - cpu::random_matrix<double>(4, 4, 1.0, 22).row(0).head(2)).cwiseAbs().maxCoeff(),
            1e-15);
}

}  // namespace
}  // namespace ppsim
