#pragma once
// The fused causal attention a transformer block runs, behind one interface for the calibration
// (cuda_calibrator.cpp) and the GPU pipeline runner (measure/cuda/gpu_stage.cpp): cuDNN's
// (cudnn_attention.h) where libcudnn is present and supports the shape, the in-house
// FlashAttention-2-style kernels (flash_attention.h) otherwise or when asked. Real training runs
// use cuDNN's or FlashAttention's kernels, so timing a slower kernel would mispredict every stage.
//
// Tensors as in flash_attention.h (bf16, token-major [batch*seq, heads*head_dim] rows). The
// statistics the forward leaves for the backward are [batch, heads, seq] floats for either kernel
// (each kernel's own convention; only its own backward reads them).
#include <functional>
#include <memory>
#include <string>

#include "calibrate/cuda/flash_attention.h"

namespace ppsim::cuda {

class CudnnAttention;

enum class AttentionKind { Own, Cudnn };

// "own" or "cudnn": the value of `--attention` and of a profile's device.attention.
const char* to_string(AttentionKind kind);

// "cuDNN 9.19.0" for a cudnn_version() value (cudnn_attention.h).
std::string cudnn_version_text(long version);

// Why cuDNN `version` (0: not loadable) cannot run fused attention of shape `s` on a GPU of compute
// capability `cc_major`.x, or an empty string when nothing known stands in the way (building the
// graphs may still fail: CudnnAttention's constructor says so). Pure: tested without a GPU.
std::string cudnn_attention_unsupported(const AttentionShape& s, long version, int cc_major);

// Which kernel a request ("auto", "cudnn" or "own") gives for `s`: auto takes cuDNN unless
// `cudnn_unsupported` (cudnn_attention_unsupported's answer) names a reason, which `note` then
// carries. Throws InputError for `cudnn` when cuDNN cannot run it (with the reason) and for an
// unknown request. Pure: tested without a GPU.
struct AttentionChoice {
  AttentionKind kind = AttentionKind::Own;
  std::string note;  // why the in-house kernel, or which cuDNN
};
AttentionChoice choose_attention(const std::string& request, const std::string& cudnn_unsupported,
                                 const std::string& cudnn_version_text);

// Runs one kernel launch as a named, timed region (the calibration's event pairs); `flops` 0 for
// memory-bound steps. The default just launches.
using AttentionRegion = std::function<void(const char* name, double flops, const std::function<void()>& launch)>;

class FusedAttention {
 public:
  // Picks the kernel for shape `s` on the current device per `request` (auto | cudnn | own, see
  // choose_attention), builds cuDNN's plans when it is chosen (for `sm_count_target` SMs, 0: the
  // whole GPU), and allocates the backward's scratch. With auto, cuDNN failing to build its plans
  // falls back to the in-house kernel and `note()` says why; with cudnn it throws (CudaError).
  FusedAttention(const AttentionShape& s, const std::string& request, int sm_count_target);
  ~FusedAttention();
  FusedAttention(const FusedAttention&) = delete;
  FusedAttention& operator=(const FusedAttention&) = delete;

  AttentionKind kind() const { return kind_; }
  const std::string& note() const { return note_; }
  const AttentionShape& shape() const { return shape_; }
  double setup_seconds() const { return setup_seconds_; }  // cuDNN's plan building (0 for ours)

  // o = softmax(q kᵀ / sqrt(d), causal) v and the row statistics for the backward.
  void forward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, __nv_bfloat16* o, float* stats,
               cudaStream_t stream, const AttentionRegion& region = {});
  // dq, dk, dv from dout, with o and stats from this object's forward on the same inputs.
  void backward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, const __nv_bfloat16* o,
                const __nv_bfloat16* dout, const float* stats, __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv,
                cudaStream_t stream, const AttentionRegion& region = {});

 private:
  AttentionShape shape_;
  AttentionKind kind_ = AttentionKind::Own;
  std::string note_;
  double setup_seconds_ = 0;
  std::unique_ptr<CudnnAttention> cudnn_;
  // Backward scratch, the same sizes for both kernels: row statistics (ours: D = rowsum(dO ∘ O);
  // cuDNN: its softmax_sum) and the fp32 dQ accumulator.
  float* row_scratch_ = nullptr;
  float* dq_accum_ = nullptr;
};

}  // namespace ppsim::cuda
