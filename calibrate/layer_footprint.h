#pragma once
// The memory ppsim's own layer implementations hold (the CPU layers in fp32, the GPU kernels in
// bf16), for refusing a calibration or a measured run that would not fit before allocating.
#include <cstdint>

#include "models/model_spec.h"

namespace ppsim {

struct LayerFootprint {
  std::int64_t weights = 0;    // parameters
  std::int64_t gradients = 0;  // their gradients
  std::int64_t stash = 0;      // what one micro-batch keeps from F to W (and its backward buffers)
  std::int64_t per_microbatch_total(std::int64_t in_flight) const { return weights + gradients + stash * in_flight; }
};

// `element_bytes`: 4 for the CPU layers (fp32), 2 for the GPU kernels (bf16 tensors; their fp32
// softmax statistics and logits are counted at 4 bytes).
LayerFootprint embedding_footprint(const ModelSpec& spec, std::int64_t tokens, int element_bytes);
LayerFootprint block_footprint(const ModelSpec& spec, std::int64_t tokens, int element_bytes);
LayerFootprint head_footprint(const ModelSpec& spec, std::int64_t tokens, int element_bytes);

}  // namespace ppsim
