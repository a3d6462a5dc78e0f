// The float64 gradient references that the GPU backward kernels are checked against
// (calibrate/reference.h), each checked here against central finite differences of its forward
// reference, so that a GPU kernel failing its check points at the kernel, not the reference.
#include <gtest/gtest.h>

#include <functional>

#include "calibrate/reference.h"
#include "tests/calibrate/finite_differences.h"

namespace ppsim {
namespace {

using ref::RefMatrix;
using ref::RefVector;

using test::numeric_gradient;

double dot(const RefMatrix& a, const RefMatrix& b) { return (a.array() * b.array()).sum(); }

TEST(Reference, NormBackwardMatchesFiniteDifferences) {
  for (Norm kind : {Norm::LayerNorm, Norm::RmsNorm}) {
    RefMatrix x = cpu::random_matrix<double>(3, 7, 1.0, 1);
    RefVector gain = cpu::random_matrix<double>(1, 7, 0.3, 2).array() + 1.0;
    RefVector bias = cpu::random_matrix<double>(1, 7, 0.3, 3);
    const RefMatrix dy = cpu::random_matrix<double>(3, 7, 1.0, 4);
    const auto loss = [&] { return dot(dy, ref::norm(kind, x, gain, bias)); };
    const ref::NormGrads g = ref::norm_backward(kind, x, gain, dy);
    EXPECT_LT(ref::relative_error(g.dx, numeric_gradient(x, loss)), 1e-6);
    EXPECT_LT(ref::relative_error(g.dgain, numeric_gradient(gain, loss)), 1e-6);
    if (kind == Norm::LayerNorm) {
      EXPECT_LT(ref::relative_error(g.dbias, numeric_gradient(bias, loss)), 1e-6);
    } else {
      EXPECT_EQ(g.dbias.cwiseAbs().maxCoeff(), 0.0);  // RMSNorm has no bias
    }
  }
}

TEST(Reference, ActivationBackwardMatchesFiniteDifferences) {
  RefMatrix u = cpu::random_matrix<double>(4, 9, 2.0, 5);
  RefMatrix up = cpu::random_matrix<double>(4, 9, 1.0, 6);
  const RefMatrix dg = cpu::random_matrix<double>(4, 9, 1.0, 7);
  EXPECT_LT(ref::relative_error(ref::gelu_backward(u, dg), numeric_gradient(u, [&] { return dot(dg, ref::gelu(u)); })),
            1e-6);
  const ref::SwigluGrads g = ref::swiglu_backward(u, up, dg);
  const auto loss = [&] { return dot(dg, ref::swiglu(u, up)); };
  EXPECT_LT(ref::relative_error(g.dgate, numeric_gradient(u, loss)), 1e-6);
  EXPECT_LT(ref::relative_error(g.dup, numeric_gradient(up, loss)), 1e-6);
}

TEST(Reference, CrossEntropyBackwardMatchesFiniteDifferences) {
  RefMatrix logits = cpu::random_matrix<double>(5, 11, 2.0, 8);
  const cpu::Tokens targets = {3, 0, 10, 3, 7};
  const RefMatrix d = ref::softmax_cross_entropy_backward(logits, targets);
  EXPECT_LT(ref::relative_error(d, numeric_gradient(logits, [&] { return ref::softmax_cross_entropy(logits, targets); })),
            1e-6);
  // Each row of (softmax - onehot) / rows sums to zero.
  for (Eigen::Index r = 0; r < d.rows(); ++r) EXPECT_NEAR(d.row(r).sum(), 0.0, 1e-15);
}

TEST(Reference, GatherAndScatterAddAreAdjoint) {
  RefMatrix table = cpu::random_matrix<double>(6, 4, 1.0, 9);
  const cpu::Tokens ids = {5, 1, 1, 0, 5, 5, 2};  // repeated ids accumulate
  const RefMatrix dy = cpu::random_matrix<double>(7, 4, 1.0, 10);
  const RefMatrix out = ref::gather_rows(table, ids);
  EXPECT_EQ(out.row(1), table.row(1));
  EXPECT_EQ(out.row(6), table.row(2));
  const RefMatrix d = ref::scatter_add_rows(dy, ids, table.rows());
  EXPECT_LT(ref::relative_error(d, numeric_gradient(table, [&] { return dot(dy, ref::gather_rows(table, ids)); })), 1e-8);
  EXPECT_EQ(d.row(3).cwiseAbs().maxCoeff(), 0.0);  // id 3 never appears
}

// The error measure: relative to the reference's largest magnitude, or to a floor under it for
// references that are exactly zero (a 1-token attention's dQ and dK).
TEST(Reference, RelativeErrorWithAFloor) {
  RefMatrix got(1, 3), want(1, 3);
  got << 1.0, 2.5, -3.0;
  want << 1.0, 2.0, -4.0;
  EXPECT_DOUBLE_EQ(ref::relative_error(got, want), 0.25);         // |(-3) - (-4)| / 4
  EXPECT_DOUBLE_EQ(ref::relative_error(got, want, 10.0), 0.1);    // the floor is above max|want|
  EXPECT_DOUBLE_EQ(ref::relative_error(got, want, 1.0), 0.25);    // ... and below it: no effect
  const RefMatrix zero = RefMatrix::Zero(1, 3);
  RefMatrix tiny(1, 3);
  tiny << 1e-7, 0.0, -2e-7;
  EXPECT_GT(ref::relative_error(tiny, zero), 1e200);
  EXPECT_DOUBLE_EQ(ref::relative_error(tiny, zero, 1e-3), 2e-4);
}

}  // namespace
}  // namespace ppsim
