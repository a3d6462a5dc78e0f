#pragma once
// Fused causal attention (FlashAttention-2 style) for the CUDA calibration backend: bf16 Q, K, V,
// fp32 accumulation on tensor cores (mma.sync.m16n8k16 via inline PTX, ldmatrix, cp.async),
// online softmax, the per-row log-sum-exp kept for the backward, and a backward that recomputes
// the probabilities from it. NOT YET RUN ON A GPU (see docs/calibration.md).
//
// Layout, as the block forward produces it: token-major rows, `batch` sequences of `seq` tokens
// one after another. q and o are [batch*seq, heads*head_dim]; k, v, dk, dv are
// [batch*seq, kv_heads*head_dim]; query head h reads key/value head h / (heads / kv_heads)
// (grouped-query attention without expanding K and V). Query i sees keys 0..i of its sequence;
// softmax scale 1/sqrt(head_dim). Any seq >= 1 works (partial tiles are zero-filled and masked).
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstddef>
#include <cstdint>

namespace ppsim::cuda {

struct AttentionShape {
  int batch = 1, seq = 0, heads = 0, kv_heads = 0, head_dim = 0;
  std::int64_t tokens() const { return std::int64_t(batch) * seq; }
  // [batch, heads, seq] floats: the log-sum-exp of the forward, and D = rowsum(dO * O).
  std::size_t row_stat_floats() const { return std::size_t(batch) * heads * seq; }
  // The fp32 dQ accumulator, laid out like q.
  std::size_t dq_accum_floats() const { return std::size_t(tokens()) * heads * head_dim; }
};

// Head dimensions with a compiled kernel: 16, 64, 80, 96, 128 (the shipped models' head sizes).
bool flash_attention_supported(int head_dim);

// Useful FLOPs with causal masking counted as half the square: forward = 2 products (QKᵀ, PV) of
// 2·seq²·d·½ per head; backward = 2.5× forward (QKᵀ recomputed, dP = dO Vᵀ, dV, dK, dQ), the
// FlashAttention convention.
double flash_attention_forward_flops(const AttentionShape& s);
double flash_attention_backward_flops(const AttentionShape& s);

// o = softmax(q kᵀ / sqrt(d), causal) v; lse[b, h, i] = log2 of the row's sum of
// exp2(score · log2(e) / sqrt(d)) (base 2, of the scaled scores), for the backward.
void flash_attention_forward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                             __nv_bfloat16* o, float* lse, const AttentionShape& s, cudaStream_t stream);

// The three backward steps: (1) D = rowsum(dO ∘ O) per (b, h, i) and zero the fp32 dQ
// accumulator; (2) dK, dV (written, GQA groups reduced in the kernel) and dQ (accumulated with
// atomics); (3) dq = bf16(accumulator).
void flash_attention_backward_prep(const __nv_bfloat16* o, const __nv_bfloat16* dout, float* dvec, float* dq_accum,
                                   const AttentionShape& s, cudaStream_t stream);
void flash_attention_backward(const __nv_bfloat16* q, const __nv_bfloat16* k, const __nv_bfloat16* v,
                              const __nv_bfloat16* dout, const float* lse, const float* dvec, float* dq_accum,
                              __nv_bfloat16* dk, __nv_bfloat16* dv, const AttentionShape& s, cudaStream_t stream);
void flash_attention_dq_convert(const float* dq_accum, __nv_bfloat16* dq, const AttentionShape& s,
                                cudaStream_t stream);

}  // namespace ppsim::cuda
