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

// The shape of one micro-batch, and how one layer is split over the GPUs that run it.
struct LayerShape {
  int micro_batch_size = 1;   // b
  int sequence_length = 2048;  // s
  DType dtype = DType::BF16;
  Recompute recompute = Recompute::None;
  int tensor_parallel = 1;         // t: GEMMs, attention heads and the vocabulary split over t GPUs
  bool sequence_parallel = false;  // norms, dropouts and the tensors between GEMMs split over t too
};

// The tensor-parallel collectives of one pass over the t GPUs of a layer (Megatron: Shoeybi et al.
// 2019; with sequence parallelism, Korthikanti et al. 2022), each of a tensor of `bytes`.
struct TpComm {
  int allreduce = 0;
  int allgather = 0;
  int reduce_scatter = 0;
  double bytes = 0;  // the whole tensor each collective moves (s * b * h elements of the dtype)
  bool empty() const { return allreduce + allgather + reduce_scatter == 0; }
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
  std::int64_t activation_bytes = 0;  // stashed from F until B/W of the same micro-batch, per GPU
  std::int64_t params = 0;            // parameters held by the layer, per GPU (its tensor-parallel shard)
  TpComm forward_comm, backward_input_comm, backward_weight_comm;  // empty with t = 1
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

// Parameter counts (of the whole layer; `t` > 1: one GPU's tensor-parallel shard, with norms and
// the biases of row-parallel GEMMs replicated on every GPU).
std::int64_t embedding_params(const ModelSpec& m, int t = 1);
std::int64_t block_params(const ModelSpec& m, int t = 1);
std::int64_t head_params(const ModelSpec& m, bool holds_tied_copy, int t = 1);
std::int64_t model_params(const ModelSpec& m);  // each tensor once (tied embeddings counted once)

// Bytes per parameter of mixed-precision Adam as ZeRO counts them (Rajbhandari et al. 2020, section
// 3.1: 2 + 2 + K with K = 12): weights and gradients in the training dtype, an fp32 master copy and
// two fp32 moments (fp32 training: 4 + 4 + 8, no master copy).
struct BytesPerParam {
  int params;
  int grads;
  int optimizer;
};
BytesPerParam adam_bytes_per_param(DType d);

// The same per GPU under ZeRO stage `zero` over `data` replicas: stage 1 shards the optimizer
// state, 2 also the gradients, 3 also the parameters (fractions of a byte per parameter).
struct ShardedBytesPerParam {
  double params, grads, optimizer;
};
ShardedBytesPerParam zero_bytes_per_param(DType d, int zero, int data);

// The activation sent from one pipeline stage to the next per micro-batch (and its gradient back),
// per GPU: s * b * h elements of the training dtype, divided by t under sequence parallelism.
std::int64_t boundary_activation_bytes(const ModelSpec& m, const LayerShape& shape);

}  // namespace ppsim
