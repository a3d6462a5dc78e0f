#include "models/cost_model.h"

#include <algorithm>

#include "base/error.h"

namespace ppsim {
namespace {

struct Dims {
  double b, s, h, f, q, kv, a, e, V;
  double mats;  // MLP weight matrices: 2 (GeLU) or 3 (SwiGLU)
  double t;     // tensor-parallel GPUs
  double sp;    // what a sequence-parallel region divides by: t with sequence parallelism, else 1
};

Dims dims(const ModelSpec& m, const LayerShape& shape) {
  Dims d;
  d.t = std::max(1, shape.tensor_parallel);
  d.sp = shape.sequence_parallel ? d.t : 1;
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

// FLOPs of the block's GEMMs with weights (QKV, output projection, MLP) in one direction, per GPU.
double linear_flops(const Dims& d) {
  return (2 * d.b * d.s * d.h * (d.q + 2 * d.kv) + 2 * d.b * d.s * d.q * d.h + d.mats * 2 * d.b * d.s * d.h * d.f) / d.t;
}

// Korthikanti et al. 2022, section 4, generalized to GQA and SwiGLU (docs/cost-model.md): bytes one
// GPU stashes per block. The tensors inside the attention and MLP (Q, K, V, the scores, the MLP's
// intermediates) are split over the t tensor-parallel GPUs; the norms' inputs, the GEMMs' inputs
// and the dropout masks between them are whole on every GPU unless sequence parallelism splits
// them too. With t = 1 and GPT's shapes this is sbh(34 + 5as/h); with t it is
// sbh(10 + 24/t + 5as/(ht)), and sbh/t(34 + 5as/h) with sequence parallelism.
double block_activation_bytes(const Dims& d, Recompute r) {
  const double sb = d.s * d.b;
  if (r == Recompute::Full) return d.e * sb * d.h / d.sp;  // the block's input only
  const double between = (4 * d.e + 2) * sb * d.h / d.sp;  // two norm inputs, two GEMM inputs, two dropout masks
  const double inside = (d.e * sb * (d.q + d.kv)            // Q and K for QK^T
                         + d.e * sb * d.kv                  // V for scores x V
                         + d.e * sb * d.q                   // output projection input
                         + (d.mats == 3 ? 3 : 2) * d.e * sb * d.f) / d.t;  // GeLU in+out / SwiGLU gate, up, product
  const double scores = (2 * d.e + 1) * d.a * d.s * d.s * d.b / d.t;  // softmax out, dropout mask, dropout out
  return between + inside + (r == Recompute::None ? scores : 0);
}

// Megatron's tensor-parallel collectives of one block pass: without sequence parallelism an
// all-reduce after the attention and the MLP in F (and for their input gradients in B); with it
// each becomes an all-gather before and a reduce-scatter after, and W gathers the two sharded GEMM
// inputs again (Korthikanti et al. 2022, section 4.2.2).
TpComm block_comm(const Dims& d, bool sequence_parallel, int pass /* 0 F, 1 B, 2 W */) {
  TpComm c;
  if (d.t <= 1) return c;
  c.bytes = d.e * d.s * d.b * d.h;
  if (!sequence_parallel) {
    if (pass < 2) c.allreduce = 2;
  } else if (pass < 2) {
    c.allgather = 2;
    c.reduce_scatter = 2;
  } else {
    c.allgather = 2;
  }
  return c;
}

void add_comm(TpComm& to, const TpComm& from) {
  to.allreduce += from.allreduce;
  to.allgather += from.allgather;
  to.reduce_scatter += from.reduce_scatter;
  to.bytes = std::max(to.bytes, from.bytes);
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
  return {2, 2, 12};
}

ShardedBytesPerParam zero_bytes_per_param(DType d, int zero, int data) {
  const BytesPerParam b = adam_bytes_per_param(d);
  const double n = std::max(1, data);
  return {zero >= 3 ? b.params / n : b.params, zero >= 2 ? b.grads / n : b.grads,
          zero >= 1 ? b.optimizer / n : b.optimizer};
}

// The vocabulary (and position table) is split over the t GPUs (Megatron's vocab-parallel embedding).
std::int64_t embedding_params(const ModelSpec& m, int t) {
  const std::int64_t positions = m.position == PositionEmbedding::Learned ? m.max_positions : 0;
  return (static_cast<std::int64_t>(m.vocab) + positions) * m.hidden / std::max(1, t);
}

std::int64_t block_params(const ModelSpec& m, int t) {
  const std::int64_t h = m.hidden, f = m.ffn_hidden, tp = std::max(1, t);
  const std::int64_t q = static_cast<std::int64_t>(m.heads) * m.head_dim();
  const std::int64_t kv = static_cast<std::int64_t>(m.kv_heads) * m.head_dim();
  const std::int64_t mats = m.activation == Activation::SwiGlu ? 3 : 2;
  // GEMM weights and the column-parallel GEMMs' biases are split; norms and the row-parallel
  // GEMMs' biases (after the output projection and the MLP) are whole on every GPU.
  std::int64_t n = (h * (q + 2 * kv) + q * h + mats * h * f) / tp + 2 * static_cast<std::int64_t>(norm_params(m));
  if (m.bias) n += ((q + 2 * kv) + (mats - 1) * f) / tp + 2 * h;
  return n;
}

std::int64_t head_params(const ModelSpec& m, bool holds_tied_copy, int t) {
  const std::int64_t lm_head = (!m.tied_embeddings || holds_tied_copy) ? static_cast<std::int64_t>(m.vocab) * m.hidden : 0;
  return static_cast<std::int64_t>(norm_params(m)) + lm_head / std::max(1, t);
}

std::int64_t model_params(const ModelSpec& m) {
  return embedding_params(m) + static_cast<std::int64_t>(m.layers) * block_params(m) + head_params(m, false);
}

std::int64_t boundary_activation_bytes(const ModelSpec& m, const LayerShape& shape) {
  const std::int64_t whole =
      static_cast<std::int64_t>(shape.sequence_length) * shape.micro_batch_size * m.hidden * dtype_bytes(shape.dtype);
  return shape.sequence_parallel ? whole / std::max(1, shape.tensor_parallel) : whole;
}

double attention_core_flops(const ModelSpec& m, const LayerShape& shape) {
  const Dims d = dims(m, shape);
  return 4 * d.b * d.s * d.s * d.q / d.t;
}

LayerCost block_cost(const ModelSpec& m, const LayerShape& shape) {
  const Dims d = dims(m, shape);
  const BytesPerParam bpp = adam_bytes_per_param(shape.dtype);
  LayerCost c;
  c.params = block_params(m, shape.tensor_parallel);
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
  c.forward_comm = block_comm(d, shape.sequence_parallel, 0);
  c.backward_input_comm = block_comm(d, shape.sequence_parallel, 1);
  c.backward_weight_comm = block_comm(d, shape.sequence_parallel, 2);
  if (shape.recompute == Recompute::Full) add_comm(c.backward_input_comm, c.forward_comm);  // the forward again
  return c;
}

LayerCost embedding_cost(const ModelSpec& m, const LayerShape& shape) {
  const Dims d = dims(m, shape);
  const BytesPerParam bpp = adam_bytes_per_param(shape.dtype);
  const double sbh = d.s * d.b * d.h;
  LayerCost c;
  c.params = embedding_params(m, shape.tensor_parallel);
  // A gather: no GEMM FLOPs. Read the token rows (and position rows), write the output.
  const bool learned = m.position == PositionEmbedding::Learned;
  c.forward_bytes = d.e * sbh * (learned ? 3 : 2);
  // Vocab-parallel: each GPU looks up the rows it holds, then the partial outputs are summed
  // (all-reduce), or reduce-scattered along the sequence under sequence parallelism; W then needs
  // the whole output gradient back (all-gather).
  if (d.t > 1) {
    c.forward_comm.bytes = c.backward_weight_comm.bytes = d.e * sbh;
    (shape.sequence_parallel ? c.forward_comm.reduce_scatter : c.forward_comm.allreduce) = 1;
    if (shape.sequence_parallel) c.backward_weight_comm.allgather = 1;
  }
  // Tokens have no gradient: B is empty. W scatters the output gradient into the fp32 main
  // gradient rows it touches (read-modify-write), at most min(s*b, V) rows (+ the position rows).
  c.backward_weight_bytes = d.e * sbh + 2.0 * bpp.grads * std::min(d.s * d.b, d.V) * d.h +
                            (learned ? 2.0 * bpp.grads * d.s * d.h : 0);
  // Token ids (int64) for the scatter and the embedding dropout mask (1 byte, Korthikanti et al.).
  c.activation_bytes = static_cast<std::int64_t>(8 * d.s * d.b + sbh / d.sp);
  return c;
}

LayerCost head_cost(const ModelSpec& m, const LayerShape& shape, bool holds_tied_copy) {
  const Dims d = dims(m, shape);
  const BytesPerParam bpp = adam_bytes_per_param(shape.dtype);
  // Vocab-parallel: each GPU computes the logits of its V/t vocabulary rows.
  const double sbh = d.s * d.b * d.h, sbv = d.s * d.b * d.V / d.t, vh = d.V * d.h / d.t;
  LayerCost c;
  c.params = head_params(m, holds_tied_copy, shape.tensor_parallel);
  // The LM head GEMM [sb, h] x [h, V] in each of F, B and W (Megatron's 6*B*s*h*V term); the
  // norm and the softmax/cross-entropy are elementwise and only move bytes. Never recomputed.
  c.forward_flops = 2 * sbh * d.V / d.t;
  c.backward_input_flops = 2 * sbh * d.V / d.t;
  c.backward_weight_flops = 2 * sbh * d.V / d.t;
  c.forward_bytes = d.e * vh + 2 * d.e * sbh + (d.e + 8) * sbv;       // weights, norm, logits + fp32 loss
  c.backward_input_bytes = d.e * vh + 3 * d.e * sbh + (4 + d.e) * sbv;  // weights, norm, softmax grad
  c.backward_weight_bytes = d.e * sbv + d.e * sbh + 2.0 * bpp.grads * vh;
  // Final-norm input, LM-head input and the fp32 logits kept for the loss (Korthikanti et al.).
  c.activation_bytes = static_cast<std::int64_t>(2 * d.e * sbh / d.sp + 4 * sbv);
  // The LM head's input is gathered along the sequence (sequence parallelism) before the
  // column-parallel GEMM; its input gradient is all-reduced, or reduce-scattered.
  if (d.t > 1) {
    c.forward_comm.bytes = c.backward_input_comm.bytes = d.e * sbh;
    if (shape.sequence_parallel) c.forward_comm.allgather = 1;
    (shape.sequence_parallel ? c.backward_input_comm.reduce_scatter : c.backward_input_comm.allreduce) = 1;
  }
  return c;
}

}  // namespace ppsim
