#pragma once
// One virtual stage (model chunk) of a real model on the CPU: its layers (the embedding on the
// first stage, a run of transformer blocks, the head on the last) and, per micro-batch in flight,
// the stashes its backward needs. F, B and W are the calibration kernels (calibrate/cpu/layers.h),
// so a measured run times exactly what calibration timed.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "calibrate/cpu/layers.h"
#include "models/model_spec.h"
#include "models/partition.h"

namespace ppsim::cpu {

struct StageGrads {
  std::optional<EmbeddingWeights<float>> embedding;
  std::vector<BlockWeights<float>> blocks;
  std::optional<HeadWeights<float>> head;
};

class CpuStage {
 public:
  // Layers [first_block, first_block + blocks) of `spec`; layer weights are seeded by their index
  // in the model, so any partition of the same model holds the same weights.
  CpuStage(const ModelSpec& spec, int sequence_length, int first_block, int blocks, bool has_embedding, bool has_head,
           std::uint64_t seed);

  // F: the stage input is `x` (or the micro-batch's token ids on the embedding stage); returns the
  // activation for the next stage, or an empty tensor on the last stage (whose loss is recorded).
  Tensor forward(int microbatch, const Tensor* x, const Tokens& ids, const Tokens& targets);
  // B: `grad` is the gradient of the stage output (none on the last stage); returns the gradient
  // of the stage input (empty on the embedding stage).
  Tensor backward_input(int microbatch, const Tensor* grad);
  // W: accumulates this micro-batch's weight gradients and frees its stash.
  void backward_weight(int microbatch);

  void zero_grads();
  const StageGrads& grads() const { return grads_; }
  double loss(int microbatch) const { return losses_.at(microbatch); }
  bool has_head() const { return head_ != nullptr; }

 private:
  struct Stash {
    EmbeddingStash embedding;
    std::vector<BlockStash> blocks;
    HeadStash head;
  };
  std::unique_ptr<CpuEmbedding> embedding_;
  std::vector<CpuBlock> blocks_;
  std::unique_ptr<CpuHead> head_;
  std::map<int, Stash> stash_;  // per micro-batch in flight
  std::map<int, double> losses_;
  StageGrads grads_;
};

// The stages of a partition, in model order (virtual stage v = partition entry v); with several
// model copies (DualPipe), copy c's stage v is stage c * (partition's stages) + v.
std::vector<std::unique_ptr<CpuStage>> make_cpu_stages(const ModelSpec& spec, const Partition& partition,
                                                       int sequence_length, std::uint64_t seed, int copies = 1);

// Deterministic inputs of micro-batch m: micro_batch_size * sequence_length token ids and targets.
Tokens microbatch_tokens(const ModelSpec& spec, int microbatch, int tokens, std::uint64_t seed);
Tokens microbatch_targets(const ModelSpec& spec, int microbatch, int tokens, std::uint64_t seed);

}  // namespace ppsim::cpu
