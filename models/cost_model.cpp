#include "models/cost_model.h"

#include <algorithm>

#include "base/error.h"

namespace ppsim {
namespace {

struct Dims {
  double b, s, h, f, q, kv, a, e, V;
  double mats;  // MLP weight matrices: 2 (GeLU) or 3 (SwiGLU)
};

Dims dims(const ModelSpec& m, const LayerShape& shape) {
  Dims d;
  d.b = shape.micro_batch_size;
  d.s = shape.sequence_length;
  d.h = m.hidden;
  d.f = m.ffn_hidden;
  d.a = m.heads;
  d.q = static_cast<double>(m.heads) * m.head_dim();
  d.kv = static_cast<double>(m.kv_heads) * m.head_dim();
  d.e = dtype_bytes(shape.dtype);
  d.V = m.vocab;
  d.mats = m.activation == Activation::SwiGlu ? 3 : 2;
  return d;
}

double norm_params(const ModelSpec& m) { return m.norm == Norm::LayerNorm ? 2.0 * m.hidden : 1.0 * m.hidden; }

// FLOPs of the block's GEMMs with weights (QKV, output projection, MLP) in one direction.
double linear_flops(const Dims& d) {
  return 2 * d.b * d.s * d.h * (d.q + 2 * d.kv) + 2 * d.b * d.s * d.q * d.h + d.mats * 2 * d.b * d.s * d.h * d.f;
}

// Korthikanti et al. 2022, Section 4.1, generalized (docs/cost-model.md): bytes stashed per block.
double block_activation_bytes(const Dims& d, Recompute r) {
  const double sb = d.s * d.b;
  if (r == Recompute::Full) return d.e * sb * d.h;
  const double attention = d.e * sb * d.h          // norm 1 input
                           + d.e * sb * d.h        // QKV projection input
                           + d.e * sb * (d.q + d.kv)  // Q and K for QK^T
                           + d.e * sb * d.kv       // V for scores x V
                           + d.e * sb * d.q        // output projection input
                           + sb * d.h;             // dropout mask after the projection (1 byte)
  const double scores = (2 * d.e + 1) * d.a * d.s * d.s * d.b;  // softmax out, dropout mask, dropout out
  const double mlp = d.e * sb * d.h                // norm 2 input
                     + d.e * sb * d.h              // first MLP GEMM input
                     + (d.mats == 3 ? 3 : 2) * d.e * sb * d.f  // GeLU in+out / SwiGLU gate, up, product
                     + sb * d.h;                   // dropout mask (1 byte)
  return attention + mlp + (r == Recompute::None ? scores : 0);
}

}  // namespace

const char* to_string(Recompute r) {
  switch (r) {
    case Recompute::None: return "none";
    case Recompute::Selective: return "selective";
    case Recompute::Full: return "full";
  }
  return "?";
}

Recompute parse_recompute(const std::string& text, const std::string& what) {
  for (const auto& [name, r] : kRecomputeNames)
    if (text == name) return r;
  throw InputError(what + ": unknown recompute '" + text + "' (valid: none, selective, full)");
}

BytesPerParam adam_bytes_per_param(DType d) {
  if (d == DType::FP32) return {4, 4, 8};
  return {2, 4, 12};
}

std::int64_t embedding_params(const ModelSpec& m) {
  const std::int64_t positions = m.position == PositionEmbedding::Learned ? m.max_positions : 0;
  return (static_cast<std::int64_t>(m.vocab) + positions) * m.hidden;
}

std::int64_t block_params(const ModelSpec& m) {
  const std::int64_t h = m.hidden, f = m.ffn_hidden;
  const std::int64_t q = static_cast<std::int64_t>(m.heads) * m.head_dim();
  const std::int64_t kv = static_cast<std::int64_t>(m.kv_heads) * m.head_dim();
  const std::int64_t mats = m.activation == Activation::SwiGlu ? 3 : 2;
  std::int64_t n = h * (q + 2 * kv) + q * h + mats * h * f + 2 * static_cast<std::int64_t>(norm_params(m));
  if (m.bias) n += (q + 2 * kv) + h + (mats - 1) * f + h;
  return n;
}

std::int64_t head_params(const ModelSpec& m, bool holds_tied_copy) {
  const std::int64_t lm_head = (!m.tied_embeddings || holds_tied_copy) ? static_cast<std::int64_t>(m.vocab) * m.hidden : 0;
  return static_cast<std::int64_t>(norm_params(m)) + lm_head;
}

std::int64_t model_params(const ModelSpec& m) {
  return embedding_params(m) + static_cast<std::int64_t>(m.layers) * block_params(m) + head_params(m, false);
}

std::int64_t boundary_activation_bytes(const ModelSpec& m, const LayerShape& shape) {
  return static_cast<std::int64_t>(shape.sequence_length) * shape.micro_batch_size * m.hidden * dtype_bytes(shape.dtype);
}

double attention_core_flops(const ModelSpec& m, const LayerShape& shape) {
  const Dims d = dims(m, shape);
  return 4 * d.b * d.s * d.s * d.q;
}

LayerCost block_cost(const ModelSpec& m, const LayerShape& shape) {
  const Dims d = dims(m, shape);
  const BytesPerParam bpp = adam_bytes_per_param(shape.dtype);
  LayerCost c;
  c.params = block_params(m);
  const double linear = linear_flops(d);
  const double attention = attention_core_flops(m, shape);
  // Zero-bubble paper, Table 1: F = linear + attention; B needs the input gradient of every GEMM
  // (linear) and both gradients of the two weightless attention GEMMs (2 x attention); W only
  // the weight gradient of every GEMM with weights (linear).
  c.forward_flops = linear + attention;
  c.backward_input_flops = linear + 2 * attention;
  c.backward_weight_flops = linear;
  if (shape.recompute == Recompute::Full) c.backward_input_flops += c.forward_flops;
  if (shape.recompute == Recompute::Selective) c.backward_input_flops += attention;

  const double stash_all = block_activation_bytes(d, Recompute::None);
  const double weights = d.e * static_cast<double>(c.params);
  c.forward_bytes = weights + 2 * stash_all;
  c.backward_input_bytes = weights + 2 * stash_all;
  c.backward_weight_bytes = stash_all + 2.0 * bpp.grads * static_cast<double>(c.params);
  if (shape.recompute == Recompute::Full) c.backward_input_bytes += c.forward_bytes;
  c.activation_bytes = static_cast<std::int64_t>(block_activation_bytes(d, shape.recompute));
  return c;
}

LayerCost embedding_cost(const ModelSpec& m, const LayerShape& shape) {
  const Dims d = dims(m, shape);
  const BytesPerParam bpp = adam_bytes_per_param(shape.dtype);
  const double sbh = d.s * d.b * d.h;
  LayerCost c;
  c.params = embedding_params(m);
  // A gather: no GEMM FLOPs. Read the token rows (and position rows), write the output.
  const bool learned = m.position == PositionEmbedding::Learned;
  c.forward_bytes = d.e * sbh * (learned ? 3 : 2);
  // Tokens have no gradient: B is empty. W scatters the output gradient into the fp32 main
  // gradient rows it touches (read-modify-write), at most min(s*b, V) rows (+ the position rows).
  c.backward_weight_bytes = d.e * sbh + 2.0 * bpp.grads * std::min(d.s * d.b, d.V) * d.h +
                            (learned ? 2.0 * bpp.grads * d.s * d.h : 0);
  // Token ids (int64) for the scatter and the embedding dropout mask (1 byte, Korthikanti et al.).
  c.activation_bytes = static_cast<std::int64_t>(8 * d.s * d.b + sbh);
  return c;
}

LayerCost head_cost(const ModelSpec& m, const LayerShape& shape, bool holds_tied_copy) {
  const Dims d = dims(m, shape);
  const BytesPerParam bpp = adam_bytes_per_param(shape.dtype);
  const double sbh = d.s * d.b * d.h, sbv = d.s * d.b * d.V, vh = d.V * d.h;
  LayerCost c;
  c.params = head_params(m, holds_tied_copy);
  // The LM head GEMM [sb, h] x [h, V] in each of F, B and W (Megatron's 6*B*s*h*V term); the
  // norm and the softmax/cross-entropy are elementwise and only move bytes. Never recomputed.
  c.forward_flops = 2 * sbh * d.V;
  c.backward_input_flops = 2 * sbh * d.V;
  c.backward_weight_flops = 2 * sbh * d.V;
  c.forward_bytes = d.e * vh + 2 * d.e * sbh + (d.e + 8) * sbv;       // weights, norm, logits + fp32 loss
  c.backward_input_bytes = d.e * vh + 3 * d.e * sbh + (4 + d.e) * sbv;  // weights, norm, softmax grad
  c.backward_weight_bytes = d.e * sbv + d.e * sbh + 2.0 * bpp.grads * vh;
  // Final-norm input, LM-head input and the fp32 logits kept for the loss (Korthikanti et al.).
  c.activation_bytes = static_cast<std::int64_t>(2 * d.e * sbh + 4 * sbv);
  return c;
}

}  // namespace ppsim
