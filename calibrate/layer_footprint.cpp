#include "calibrate/layer_footprint.h"

#include "models/cost_model.h"

namespace ppsim {

// Tensors are counted as the layers keep them (calibrate/cpu/layers.h, measure/cuda/gpu_stage.h):
// a stash holds the forward's saved tensors and the backward's gradients kept for W.
LayerFootprint embedding_footprint(const ModelSpec& s, std::int64_t tokens, int e) {
  LayerFootprint f;
  f.weights = embedding_params(s) * e;
  f.gradients = f.weights;
  f.stash = tokens * (s.hidden * e + 4);  // the gradient at the output, and the token ids
  return f;
}

LayerFootprint block_footprint(const ModelSpec& s, std::int64_t tokens, int e) {
  const std::int64_t h = s.hidden, f_ = s.ffn_hidden, kv = static_cast<std::int64_t>(s.kv_heads) * s.head_dim();
  LayerFootprint f;
  f.weights = block_params(s) * e;
  f.gradients = f.weights;
  // Forward: x, n1, q, attn, x1, n2, two normalized inputs (7h); k, v (2 kv); u, up, g (3f); softmax
  // and norm statistics. Backward for W: d_q, d_attn_out, d_mlp_out, d_n1, d_n2 (5h); d_k, d_v (2
  // kv); d_u, d_up (2f).
  f.stash = tokens * ((12 * h + 4 * kv + 5 * f_) * e + (s.heads + 4) * 4);
  return f;
}

LayerFootprint head_footprint(const ModelSpec& s, std::int64_t tokens, int e) {
  LayerFootprint f;
  f.weights = head_params(s, s.tied_embeddings) * e;
  f.gradients = f.weights;
  // The softmax and its gradient over the vocabulary (fp32 on both devices), x, n, the normalized
  // input and its gradient (4h).
  f.stash = tokens * (2 * static_cast<std::int64_t>(s.vocab) * 4 + 4 * s.hidden * e + 8);
  return f;
}

}  // namespace ppsim
