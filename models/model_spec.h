#pragma once
// The architecture of a decoder-only transformer, as read from models/*.yaml. Pure data: the cost
// model (models/cost_model.h) and the calibration kernels (calibrate/) both start from it.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ppsim {

enum class Activation { Gelu, SwiGlu };
enum class Norm { LayerNorm, RmsNorm };
enum class PositionEmbedding { Learned, Rotary, Alibi };  // only a learned table has parameters

// How model and profile files spell the enumerations (read with YamlMap::choice).
inline const std::vector<std::pair<std::string, Activation>> kActivationNames = {{"gelu", Activation::Gelu},
                                                                                 {"swiglu", Activation::SwiGlu}};
inline const std::vector<std::pair<std::string, Norm>> kNormNames = {{"layernorm", Norm::LayerNorm},
                                                                     {"rmsnorm", Norm::RmsNorm}};

struct ModelSpec {
  std::string name;
  int layers = 0;           // transformer blocks
  int hidden = 0;           // h
  int ffn_hidden = 0;       // MLP inner size (4h for GPT, ~3.5h for Llama's SwiGLU)
  int heads = 0;            // a, attention heads
  int kv_heads = 0;         // GQA key/value heads (== heads for multi-head attention)
  int vocab = 0;            // V
  Activation activation = Activation::Gelu;
  Norm norm = Norm::LayerNorm;
  bool tied_embeddings = false;
  bool bias = true;         // linear layers carry biases (GPT) or not (Llama)
  PositionEmbedding position = PositionEmbedding::Learned;
  int max_positions = 0;    // rows of the learned position table (counted as parameters); context

  int head_dim() const { return hidden / heads; }
};

// Element precision of activations and weights during the timed passes.
enum class DType { BF16, FP16, FP32 };
inline int dtype_bytes(DType d) { return d == DType::FP32 ? 4 : 2; }
const char* to_string(DType d);
inline const std::vector<std::pair<std::string, DType>> kDTypeNames = {
    {"bf16", DType::BF16}, {"fp16", DType::FP16}, {"fp32", DType::FP32}};

}  // namespace ppsim
