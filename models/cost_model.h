#pragma once
// The analytic cost model per layer type: FLOPs, HBM bytes, stashed activation bytes and parameter
// counts for one micro-batch. Every formula and its source is in docs/cost-model.md.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "models/model_spec.h"

namespace ppsim {

// Activation recomputation (Korthikanti et al. 2022): None stashes everything; Selective drops the
// attention scores (softmax, dropout) and recomputes them; Full stashes only each block's input and
// runs the whole block forward again during its backward.
enum class Recompute { None, Selective, Full };
const char* to_string(Recompute r);
inline const std::vector<std::pair<std::string, Recompute>> kRecomputeNames = {
    {"none", Recompute::None}, {"selective", Recompute::Selective}, {"full", Recompute::Full}};
// "none", "selective" or "full"; throws InputError naming `what` otherwise.
Recompute parse_recompute(const std::string& text, const std::string& what);

// The shape of one micro-batch.
struct LayerShape {
  int micro_batch_size = 1;   // b
  int sequence_length = 2048;  // s
  DType dtype = DType::BF16;
  Recompute recompute = Recompute::None;
};

// One micro-batch through one layer. F = forward, B = input gradient, W = weight gradient.
// With Recompute::Full a block's backward_input_* includes its forward again; with Selective it
// includes the attention-core forward again.
struct LayerCost {
  double forward_flops = 0;
  double backward_input_flops = 0;
  double backward_weight_flops = 0;
  double forward_bytes = 0;  // estimated HBM traffic of each pass
  double backward_input_bytes = 0;
  double backward_weight_bytes = 0;
  std::int64_t activation_bytes = 0;  // stashed from F until B/W of the same micro-batch
  std::int64_t params = 0;            // parameters held by the layer
};

// Token (+ learned position) embedding.
LayerCost embedding_cost(const ModelSpec& m, const LayerShape& shape);
// One transformer block: norm, attention (GQA), norm, MLP (GeLU or SwiGLU).
LayerCost block_cost(const ModelSpec& m, const LayerShape& shape);
// Final norm + LM head + cross-entropy loss. `holds_tied_copy`: with tied embeddings the head's
// rank keeps its own copy of the word embeddings when it is not the embedding's rank (Megatron).
LayerCost head_cost(const ModelSpec& m, const LayerShape& shape, bool holds_tied_copy);

// The attention-core forward FLOPs of one block (QK^T and scores x V), which selective
// recompute runs again in the backward.
double attention_core_flops(const ModelSpec& m, const LayerShape& shape);

// Parameter counts.
std::int64_t embedding_params(const ModelSpec& m);
std::int64_t block_params(const ModelSpec& m);
std::int64_t head_params(const ModelSpec& m, bool holds_tied_copy);
std::int64_t model_params(const ModelSpec& m);  // each tensor once (tied embeddings counted once)

// Bytes per parameter of mixed-precision Adam (Megatron without a distributed optimizer): weights
// in the training dtype, fp32 main gradients, fp32 master copy + two fp32 moments (none of the
// master copy when training in fp32).
struct BytesPerParam {
  int params;
  int grads;
  int optimizer;
};
BytesPerParam adam_bytes_per_param(DType d);

// The activation sent from one pipeline stage to the next per micro-batch (and its gradient back):
// s * b * h elements of the training dtype.
std::int64_t boundary_activation_bytes(const ModelSpec& m, const LayerShape& shape);

}  // namespace ppsim
