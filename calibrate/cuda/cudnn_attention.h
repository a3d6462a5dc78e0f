#pragma once
// cuDNN's fused flash attention (cuDNN 9 graph API, built with the backend descriptors: no
// cudnn-frontend), forward and backward, on the tensors of flash_attention.h: bf16, causal, token-
// major [batch*seq, heads*head_dim] rows, grouped-query attention without expanding K and V.
// libcudnn is opened at run time (runtime_library.h), so ppsim builds and starts without it.
// NOT YET RUN ON A GPU: the graphs follow cudnn-frontend's composite SDPA nodes (forward: QKᵀ,
// scale, causal mask, softmax with stats, PV; backward: the FlashAttention-2 recomputation) op for
// op, which is the pattern cuDNN's fused engines recognise; its first GPU session checks them
// against the float64 reference (tests/calibrate/cuda_test.cpp, CudaBackend.CudnnAttention*).
//
// The statistics the forward leaves for the backward are cuDNN's: per (batch, head, query row) the
// natural-log log-sum-exp of the scaled scores, [batch, heads, seq] floats (the in-house kernel
// keeps a base-2 one of the same size; each backward reads only its own forward's).
#include <cstddef>
#include <memory>
#include <string>

#include "calibrate/cuda/flash_attention.h"

namespace ppsim::cuda {

// The cuDNN loaded here as major*10000 + minor*100 + patch (9.19.0 -> 91900, cudnnGetVersion's
// encoding for cuDNN 9), or 0 when libcudnn cannot be opened or ppsim was built without cuDNN's
// headers. Never throws.
long cudnn_version();

// Creates and finalizes every tensor and operation descriptor of the forward and backward graphs
// for `s`, without a handle or a GPU: what cuDNN can check before a device is involved (attribute
// types, dimensions, strides, data types). Throws CudaError at the first it refuses. For tests.
void cudnn_attention_check_ops(const AttentionShape& s);

class CudnnAttention {
 public:
  // Builds the forward and backward execution plans for `s` on the current device (cuDNN's
  // heuristics, sized for `sm_count_target` SMs when > 0, as on a green-context partition) and
  // allocates their workspace. Throws CudaError naming the step and cuDNN's message when cuDNN
  // refuses the graph (e.g. no engine supports it), or when cudnn_attention_unsupported
  // (attention.h) names a reason.
  CudnnAttention(const AttentionShape& s, int sm_count_target);
  ~CudnnAttention();
  CudnnAttention(const CudnnAttention&) = delete;
  CudnnAttention& operator=(const CudnnAttention&) = delete;

  // o = softmax(q kᵀ / sqrt(d), causal) v; stats as above. On `stream`.
  void forward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, __nv_bfloat16* o, float* stats,
               cudaStream_t stream);
  // dq, dk, dv (written, GQA groups summed) from dout and the forward's o and stats. Scratch:
  // `softmax_sum` ([batch, heads, seq] floats) and `dq_accum` (batch*seq*heads*head_dim floats),
  // both owned by the caller (FusedAttention) and overwritten. On `stream`.
  void backward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v, const __nv_bfloat16* o,
                const __nv_bfloat16* dout, const float* stats, __nv_bfloat16* dq, __nv_bfloat16* dk, __nv_bfloat16* dv,
                float* softmax_sum, float* dq_accum, cudaStream_t stream);

  std::size_t workspace_bytes() const;
  double build_seconds() const;  // wall time the two plans took to build (heuristics, finalize, compile)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ppsim::cuda
