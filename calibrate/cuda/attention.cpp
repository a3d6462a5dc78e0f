// The fused attention of a block: cuDNN's or ours (see attention.h). NOT YET RUN ON A GPU.
#include "calibrate/cuda/attention.h"

#include "base/error.h"
#include "calibrate/cuda/check.h"
#include "calibrate/cuda/cudnn_attention.h"

namespace ppsim::cuda {

const char* to_string(AttentionKind kind) { return kind == AttentionKind::Cudnn ? "cudnn" : "own"; }

std::string cudnn_version_text(long v) {
  return "cuDNN " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

std::string cudnn_attention_unsupported(const AttentionShape& s, long version, int cc_major) {
  if (version <= 0) return "cuDNN (libcudnn.so.9) is not installed or not on LD_LIBRARY_PATH";
  if (version < 90000)
    return cudnn_version_text(version) + " is older than 9.0 (its graph API lacks this fused attention)";
  if (version == 91000 || version == 91001)
    return cudnn_version_text(version) + " has a known bug in the bf16 attention backward (9.10.2 or newer works)";
  if (cc_major < 8) return "cuDNN's fused attention needs compute capability 8.0 or newer";
  if (s.head_dim % 8 != 0 || s.head_dim > 128)
    return "head dim " + std::to_string(s.head_dim) + ": cuDNN's fused attention takes multiples of 8 up to 128";
  if (s.seq < 2) return "sequence length 1: cuDNN's fused attention needs 2 or more";
  // cudnn-frontend adds a padding mask to the backward graph for these versions when the sequence
  // is not a multiple of 128 (a cuDNN bug workaround); ppsim's graphs do not, so they refuse.
  if (version <= 91500 && s.seq % 128 != 0)
    return cudnn_version_text(version) +
           " needs the sequence length to be a multiple of 128 for the attention "
           "backward (" +
           std::to_string(s.seq) + " is not; 9.15.1 and newer do not)";
  return "";
}

AttentionChoice choose_attention(const std::string& request, const std::string& cudnn_unsupported,
                                 const std::string& cudnn_version_text) {
  if (request == "own") return {AttentionKind::Own, "in-house FlashAttention-2-style kernel (--attention own)"};
  if (request != "auto" && request != "cudnn")
    throw InputError("--attention: '" + request + "' (expected cudnn or own)");
  if (cudnn_unsupported.empty())
    return {AttentionKind::Cudnn, cudnn_version_text + " fused flash attention (graph API)"};
  if (request == "cudnn") throw InputError("--attention cudnn: " + cudnn_unsupported);
  return {AttentionKind::Own, "in-house FlashAttention-2-style kernel: " + cudnn_unsupported};
}

FusedAttention::FusedAttention(const AttentionShape& s, const std::string& request, int sm_count_target) : shape_(s) {
  // What cuDNN's presence, version and the device say, before any graph is built.
  std::string unsupported;
  const long version = request == "own" ? 0 : cudnn_version();
  if (request != "own") {
    int device = 0, cc_major = 0;
    PPSIM_CUDA_CHECK(cudaGetDevice(&device));
    PPSIM_CUDA_CHECK(cudaDeviceGetAttribute(&cc_major, cudaDevAttrComputeCapabilityMajor, device));
    unsupported = cudnn_attention_unsupported(s, version, cc_major);
  }
  const AttentionChoice choice = choose_attention(request, unsupported, cudnn_version_text(version));
  kind_ = choice.kind;
  note_ = choice.note;
  if (kind_ == AttentionKind::Cudnn) {
    try {
      cudnn_ = std::make_unique<CudnnAttention>(s, sm_count_target);
      setup_seconds_ = cudnn_->build_seconds();
    } catch (const CudaError& e) {
      if (request == "cudnn") throw;
      // auto: the graph was refused (no engine for it on this GPU or version); ours still runs.
      kind_ = AttentionKind::Own;
      note_ = std::string("in-house FlashAttention-2-style kernel: ") + e.what();
    }
  }
  if (kind_ == AttentionKind::Own && !flash_attention_supported(s.head_dim))
    throw InputError("head dim " + std::to_string(s.head_dim) +
                     " has no in-house fused attention kernel (compiled for 16, 64, 80, 96, 128): " + note_);
  PPSIM_CUDA_CHECK(cudaMalloc(&row_scratch_, s.row_stat_floats() * sizeof(float)));
  PPSIM_CUDA_CHECK(cudaMalloc(&dq_accum_, s.dq_accum_floats() * sizeof(float)));
}

FusedAttention::~FusedAttention() {
  cudaFree(row_scratch_);
  cudaFree(dq_accum_);
}

namespace {
void run(const AttentionRegion& region, const char* name, double flops, const std::function<void()>& launch) {
  if (region)
    region(name, flops, launch);
  else
    launch();
}
}  // namespace

void FusedAttention::forward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, __nv_bfloat16* o,
                             float* stats, cudaStream_t stream, const AttentionRegion& region) {
  const double flops = flash_attention_forward_flops(shape_);
  if (kind_ == AttentionKind::Cudnn)
    run(region, "cudnn_attention_forward", flops, [&] { cudnn_->forward(q, k, v, o, stats, stream); });
  else
    run(region, "flash_attention_forward", flops, [&] { flash_attention_forward(q, k, v, o, stats, shape_, stream); });
}

void FusedAttention::backward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                              const __nv_bfloat16* o, const __nv_bfloat16* dout, const float* stats, __nv_bfloat16* dq,
                              __nv_bfloat16* dk, __nv_bfloat16* dv, cudaStream_t stream,
                              const AttentionRegion& region) {
  const double flops = flash_attention_backward_flops(shape_);
  if (kind_ == AttentionKind::Cudnn) {
    run(region, "cudnn_attention_backward", flops,
        [&] { cudnn_->backward(q, k, v, o, dout, stats, dq, dk, dv, row_scratch_, dq_accum_, stream); });
    return;
  }
  // Ours in three steps: D = rowsum(dO ∘ O) and a zeroed accumulator; dK, dV and dQ (atomics);
  // dQ to bf16.
  run(region, "flash_attention_backward_prep", 0,
      [&] { flash_attention_backward_prep(o, dout, row_scratch_, dq_accum_, shape_, stream); });
  run(region, "flash_attention_backward", flops,
      [&] { flash_attention_backward(q, k, v, dout, stats, row_scratch_, dq_accum_, dk, dv, shape_, stream); });
  run(region, "flash_attention_dq_convert", 0, [&] { flash_attention_dq_convert(dq_accum_, dq, shape_, stream); });
}

}  // namespace ppsim::cuda
