#pragma once
// The float64 reference: plain loops, written apart from the Eigen layers (calibrate/cpu/layers.h)
// so that a mistake in one is not repeated in the other. The CPU backend's forward passes and the
// GPU kernels (calibrate/cuda/) are compared against these; the gradients of the float64 Eigen
// layers are in turn checked against central finite differences of these forwards.
//
// Matrices are row-major RefMatrix = cpu::Matrix<double>; only element access is used here.
#include "calibrate/cpu/layers.h"

namespace ppsim::ref {

using RefMatrix = cpu::Matrix<double>;
using RefVector = cpu::RowVector<double>;

// ---- Kernels ----
// C = A * B (A [m, k], B [k, n]).
RefMatrix matmul(const RefMatrix& a, const RefMatrix& b);
// Row-wise LayerNorm (with bias) or RMSNorm (bias ignored), eps = 1e-5.
RefMatrix norm(Norm kind, const RefMatrix& x, const RefVector& gain, const RefVector& bias);
// tanh-approximated GeLU, elementwise.
RefMatrix gelu(const RefMatrix& u);
// silu(gate) * up, elementwise.
RefMatrix swiglu(const RefMatrix& gate, const RefMatrix& up);
// Causal softmax(Q K^T / sqrt(d)) V over sequences of `seq` rows; q has heads*d columns, k and v
// kv_heads*d columns (grouped-query attention when kv_heads < heads).
RefMatrix causal_attention(const RefMatrix& q, const RefMatrix& k, const RefMatrix& v, int heads, int kv_heads,
                           int seq);
// Mean over rows of -log softmax(logits)[target].
double softmax_cross_entropy(const RefMatrix& logits, const cpu::Tokens& targets);

// ---- Kernel gradients (for the GPU backward kernels; each is checked against central finite
// differences of the forward above in tests/calibrate/reference_test.cpp) ----
// Of sum(dy ∘ norm(x)): with respect to x, the gain and the bias (the bias gradient is zero for
// RMSNorm).
struct NormGrads {
  RefMatrix dx;
  RefVector dgain, dbias;
};
NormGrads norm_backward(Norm kind, const RefMatrix& x, const RefVector& gain, const RefMatrix& dy);
// Of sum(dg ∘ gelu(u)) with respect to u.
RefMatrix gelu_backward(const RefMatrix& u, const RefMatrix& dg);
// Of sum(dg ∘ swiglu(gate, up)) with respect to gate and up.
struct SwigluGrads {
  RefMatrix dgate, dup;
};
SwigluGrads swiglu_backward(const RefMatrix& gate, const RefMatrix& up, const RefMatrix& dg);
// Of softmax_cross_entropy(logits, targets) (a mean over rows) with respect to the logits.
RefMatrix softmax_cross_entropy_backward(const RefMatrix& logits, const cpu::Tokens& targets);
// A table lookup: out[t] = table[ids[t]]; and the table's gradient from dy (rows summed per id).
RefMatrix gather_rows(const RefMatrix& table, const cpu::Tokens& ids);
RefMatrix scatter_add_rows(const RefMatrix& dy, const cpu::Tokens& ids, Eigen::Index table_rows);

// ---- Layers (same weights as cpu::EmbeddingT<double> etc.) ----
RefMatrix embedding_forward(const cpu::EmbeddingWeights<double>& w, const cpu::Tokens& ids);
RefMatrix block_forward(const ModelSpec& spec, const cpu::BlockWeights<double>& w, const RefMatrix& x, int seq);
double head_forward(const ModelSpec& spec, const cpu::HeadWeights<double>& w, const RefMatrix& x,
                    const cpu::Tokens& targets);

// Largest |a - b| / (max(max|b|, floor) + tiny) over all elements: the error measure the numerics
// tests use. `floor` keeps results that are (nearly) zero, where rounding alone is "infinitely"
// wrong relative to them, measured against a scale the caller knows.
double relative_error(const RefMatrix& a, const RefMatrix& b, double floor = 0);

}  // namespace ppsim::ref
