#pragma once
// The three layer types of a decoder-only transformer (models/model_spec.h) on the CPU with Eigen:
// Embedding, Block (pre-norm attention + MLP) and Head (final norm + LM head + softmax
// cross-entropy). Each has forward (F), backward_input (B) and backward_weight (W) as separate
// calls, because zero-bubble schedules run B and W at different times.
//
// How to run a pipeline with them (issue 5): every rank owns the layers of its chunks. For each
// micro-batch m and layer l it keeps one Stash (F fills it, B adds the output gradients W needs, W
// consumes it and may then drop it). Activations and gradients passed between ranks are Tensors
// (row-major Eigen matrices of [micro_batch * sequence_length, hidden], one row per token, the
// micro-batch's sequences one after another); copying one is a memcpy of rows() * cols() floats.
//
//   Tokens ids = ...;                                  // micro_batch * seq token ids
//   EmbeddingStash es; BlockStash bs; HeadStash hs;
//   Tensor x = embedding.forward(ids, es);             // F of the embedding
//   Tensor y = block.forward(x, bs);                   // F of a block (send y to the next rank)
//   double loss = head.forward(y, targets, hs);        // F of the head
//   Tensor dy = head.backward_input(hs);               // B: gradient w.r.t. the head's input
//   Tensor dx = block.backward_input(dy, bs);          // B: gradient w.r.t. the block's input
//   embedding.backward_input(dx, es);                  // B: nothing flows further, stashes dx
//   head.backward_weight(hs, head_grads);              // W (any time after B): grads += ...
//   block.backward_weight(bs, block_grads);
//   embedding.backward_weight(es, embedding_grads);
//
// backward_weight *accumulates* into the gradient struct (zero it with zeros_like once per step),
// so micro-batches can run W in any order. The layers are const during a step: several threads
// may run different micro-batches through the same layer object concurrently, each with its own
// Stash and, if W runs concurrently, its own gradient struct.
//
// Everything is templated on the scalar: float is the CPU backend (CpuBlock, ...), double is the
// reference whose gradients the tests check against central finite differences (calibrate/
// reference.h holds an independent plain-loop float64 forward of the same math).
//
// Simplifications, recorded because they change times slightly, not shapes: projections have no
// bias, there is no positional encoding (neither learned positions nor RoPE), the LM head is
// separate from the embedding even when the spec says tied_embeddings (its weight gradient is then
// what would be added to the embedding's), and there is no dropout.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "models/model_spec.h"

namespace ppsim::cpu {

template <class S>
using Matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class S>
using RowVector = Eigen::Matrix<S, 1, Eigen::Dynamic>;

using Tensor = Matrix<float>;
using Tokens = std::vector<std::int32_t>;

// Sets the number of threads Eigen's matrix products use (effective when built with OpenMP; the
// calibration records what it got). Returns the count Eigen reports afterwards.
int set_threads(int threads);
// True when Eigen can use more than one thread (built with OpenMP).
bool threads_supported();

// ---- Embedding: token ids -> [tokens, hidden] rows of the table. ----
template <class S>
struct EmbeddingWeights {
  Matrix<S> table;  // [vocab, hidden]
  static EmbeddingWeights zeros_like(const EmbeddingWeights& w);
};

template <class S>
struct EmbeddingStashT {
  Tokens ids;
  Matrix<S> grad_out;  // set by backward_input, used by backward_weight
};

template <class S>
class EmbeddingT {
 public:
  EmbeddingT(const ModelSpec& spec, std::uint64_t seed);
  Matrix<S> forward(const Tokens& ids, EmbeddingStashT<S>& stash) const;
  // The input is token ids: nothing flows back. Keeps grad_out for W.
  void backward_input(const Matrix<S>& grad_out, EmbeddingStashT<S>& stash) const;
  void backward_weight(EmbeddingStashT<S>& stash, EmbeddingWeights<S>& grads) const;

  ModelSpec spec;
  EmbeddingWeights<S> weights;
};

// ---- Block: y = x1 + MLP(norm2(x1)), x1 = x + Attention(norm1(x)), causal, multi-head or GQA. ----
template <class S>
struct BlockWeights {
  Matrix<S> wq, wk, wv, wo;   // [h, h], [h, kv*d], [h, kv*d], [h, h]
  Matrix<S> w1, w2, w3;       // [h, f], [f, h], [h, f] (w3 is SwiGLU's up projection, empty for GeLU)
  RowVector<S> norm1_gain, norm1_bias, norm2_gain, norm2_bias;  // biases empty for RMSNorm
  static BlockWeights zeros_like(const BlockWeights& w);
};

template <class S>
struct BlockStashT {
  // Saved by forward.
  Matrix<S> x, n1, q, k, v, attn, x1, n2, u, up, g;
  Matrix<S> norm1_hat, norm2_hat;   // normalized inputs before the gain
  RowVector<S> norm1_rstd, norm2_rstd;
  Matrix<S> lse;                    // [tokens, heads] log-sum-exp of each attention row
  // Saved by backward_input for backward_weight: the gradients at each weight's output.
  Matrix<S> d_q, d_k, d_v, d_attn_out, d_u, d_up, d_mlp_out, d_n1, d_n2;
};

template <class S>
class BlockT {
 public:
  // sequence_length splits a [micro_batch * seq, hidden] input into independent causal sequences.
  BlockT(const ModelSpec& spec, int sequence_length, std::uint64_t seed);
  Matrix<S> forward(const Matrix<S>& x, BlockStashT<S>& stash) const;
  Matrix<S> backward_input(const Matrix<S>& grad_out, BlockStashT<S>& stash) const;
  void backward_weight(BlockStashT<S>& stash, BlockWeights<S>& grads) const;

  ModelSpec spec;
  int sequence_length;
  BlockWeights<S> weights;
};

// ---- Head: loss = mean over tokens of -log softmax(norm(x) W_out^T)[target]. ----
template <class S>
struct HeadWeights {
  RowVector<S> norm_gain, norm_bias;
  Matrix<S> w_out;  // [vocab, hidden]
  static HeadWeights zeros_like(const HeadWeights& w);
};

template <class S>
struct HeadStashT {
  Matrix<S> x, n, norm_hat;
  RowVector<S> norm_rstd;
  Matrix<S> probs;    // softmax of the logits [tokens, vocab]
  Tokens targets;
  Matrix<S> d_logits, d_n;  // saved by backward_input
};

template <class S>
class HeadT {
 public:
  HeadT(const ModelSpec& spec, std::uint64_t seed);
  S forward(const Matrix<S>& x, const Tokens& targets, HeadStashT<S>& stash) const;
  // The loss is the start of the backward pass: no incoming gradient.
  Matrix<S> backward_input(HeadStashT<S>& stash) const;
  void backward_weight(HeadStashT<S>& stash, HeadWeights<S>& grads) const;

  ModelSpec spec;
  HeadWeights<S> weights;
};

using CpuEmbedding = EmbeddingT<float>;
using CpuBlock = BlockT<float>;
using CpuHead = HeadT<float>;
using EmbeddingStash = EmbeddingStashT<float>;
using BlockStash = BlockStashT<float>;
using HeadStash = HeadStashT<float>;

// Copies weights between precisions (the tests build a float layer and a double one alike).
template <class To, class From>
Matrix<To> cast(const Matrix<From>& m) { return m.template cast<To>(); }

// Deterministic inputs for tests and calibration: uniform token ids, normal activations.
Tokens random_tokens(int count, int vocab, std::uint64_t seed);
template <class S>
Matrix<S> random_matrix(int rows, int cols, double stddev, std::uint64_t seed);

// Floating-point operations of one pass for `tokens` tokens in sequences of `seq` (causal attention
// counted as half of the full square), used to report achieved TFLOP/s.
struct PassFlops {
  double forward = 0, backward_input = 0, backward_weight = 0;
};
PassFlops embedding_flops(const ModelSpec& spec, std::int64_t tokens);
PassFlops block_flops(const ModelSpec& spec, std::int64_t tokens, int seq);
PassFlops head_flops(const ModelSpec& spec, std::int64_t tokens);

}  // namespace ppsim::cpu
