#include "measure/cpu/cpu_stage.h"

#include <cassert>

namespace ppsim::cpu {
namespace {
// Distinct seeds per layer so that weights depend only on the layer's place in the model.
std::uint64_t layer_seed(std::uint64_t seed, int layer) { return seed * 1000003ULL + static_cast<std::uint64_t>(layer) * 7919ULL + 17; }
constexpr int kEmbeddingLayer = -1;
constexpr int kHeadLayer = -2;
}  // namespace

CpuStage::CpuStage(const ModelSpec& spec, int sequence_length, int first_block, int blocks, bool has_embedding,
                   bool has_head, std::uint64_t seed) {
  if (has_embedding) embedding_ = std::make_unique<CpuEmbedding>(spec, layer_seed(seed, kEmbeddingLayer));
  blocks_.reserve(blocks);
  for (int b = 0; b < blocks; ++b) blocks_.emplace_back(spec, sequence_length, layer_seed(seed, first_block + b));
  if (has_head) head_ = std::make_unique<CpuHead>(spec, layer_seed(seed, kHeadLayer));
  zero_grads();
}

void CpuStage::zero_grads() {
  grads_ = StageGrads();
  if (embedding_) grads_.embedding = EmbeddingWeights<float>::zeros_like(embedding_->weights);
  for (const auto& b : blocks_) grads_.blocks.push_back(BlockWeights<float>::zeros_like(b.weights));
  if (head_) grads_.head = HeadWeights<float>::zeros_like(head_->weights);
  losses_.clear();
}

Tensor CpuStage::forward(int m, const Tensor* x, const Tokens& ids, const Tokens& targets) {
  Stash& s = stash_[m];
  s.blocks.resize(blocks_.size());
  Tensor h;
  if (embedding_) h = embedding_->forward(ids, s.embedding);
  else h = *x;
  for (std::size_t b = 0; b < blocks_.size(); ++b) h = blocks_[b].forward(h, s.blocks[b]);
  if (head_) {
    losses_[m] = head_->forward(h, targets, s.head);
    return Tensor();
  }
  return h;
}

Tensor CpuStage::backward_input(int m, const Tensor* grad) {
  Stash& s = stash_.at(m);
  Tensor g;
  if (head_) g = head_->backward_input(s.head);
  else g = *grad;
  for (std::size_t b = blocks_.size(); b-- > 0;) g = blocks_[b].backward_input(g, s.blocks[b]);
  if (embedding_) {
    embedding_->backward_input(g, s.embedding);
    return Tensor();
  }
  return g;
}

void CpuStage::backward_weight(int m) {
  Stash& s = stash_.at(m);
  if (head_) head_->backward_weight(s.head, *grads_.head);
  for (std::size_t b = 0; b < blocks_.size(); ++b) blocks_[b].backward_weight(s.blocks[b], grads_.blocks[b]);
  if (embedding_) embedding_->backward_weight(s.embedding, *grads_.embedding);
  stash_.erase(m);
}

std::vector<std::unique_ptr<CpuStage>> make_cpu_stages(const ModelSpec& spec, const Partition& partition,
                                                       int sequence_length, std::uint64_t seed, int copies) {
  std::vector<std::unique_ptr<CpuStage>> stages;
  for (int c = 0; c < copies; ++c) {  // each copy holds the same layers, with the same weights
    int first = 0;
    for (int v = 0; v < partition.virtual_stages(); ++v) {
      const int n = partition.layers_per_stage[v];
      stages.push_back(std::make_unique<CpuStage>(spec, sequence_length, first, n, v == partition.embedding_stage,
                                                  v == partition.head(), seed));
      first += n;
    }
  }
  return stages;
}

Tokens microbatch_tokens(const ModelSpec& spec, int m, int tokens, std::uint64_t seed) {
  return random_tokens(tokens, spec.vocab, seed * 31 + static_cast<std::uint64_t>(m) * 2 + 1);
}

Tokens microbatch_targets(const ModelSpec& spec, int m, int tokens, std::uint64_t seed) {
  return random_tokens(tokens, spec.vocab, seed * 31 + static_cast<std::uint64_t>(m) * 2 + 2);
}

}  // namespace ppsim::cpu
