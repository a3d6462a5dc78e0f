#pragma once
// The non-GEMM kernels of a transformer layer, bf16 storage and fp32 arithmetic. Host launchers;
// every launch is checked. Rows are tokens; matrices are row-major.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cstdint>

namespace ppsim::cuda {

using bf16 = __nv_bfloat16;

// y = norm(x) * gain (+ bias); keeps mean (0 for RMSNorm) and 1/std per row for backward.
void norm_forward(bool layernorm, const bf16* x, const float* gain, const float* bias, bf16* y, float* mean,
                  float* rstd, int rows, int cols, cudaStream_t s);
// dx = residual + d(norm)/dx^T dy (residual may be null).
void norm_backward(bool layernorm, const bf16* dy, const bf16* x, const float* gain, const float* mean,
                   const float* rstd, const bf16* residual, bf16* dx, int rows, int cols, cudaStream_t s);
// dgain += sum_rows(dy * hat), dbias += sum_rows(dy) (dbias may be null).
void norm_weight_grad(const bf16* dy, const bf16* x, const float* mean, const float* rstd, float* dgain, float* dbias,
                      int rows, int cols, cudaStream_t s);
// g = gelu(u) (tanh form) or g = silu(u) * up.
void activation_forward(bool swiglu, const bf16* u, const bf16* up, bf16* g, std::int64_t n, cudaStream_t s);
// du = dg * act'(u); for SwiGLU also dup = dg * silu(u).
void activation_backward(bool swiglu, const bf16* dg, const bf16* u, const bf16* up, bf16* du, bf16* dup,
                         std::int64_t n, cudaStream_t s);
void embedding_forward(const int* ids, const bf16* table, bf16* out, int tokens, int hidden, cudaStream_t s);
void embedding_weight_grad(const int* ids, const bf16* dy, float* dtable, int tokens, int hidden, cudaStream_t s);
// Per row: loss[r] = lse - logit[target]; logits replaced by softmax probabilities.
void cross_entropy_forward(bf16* logits_to_probs, const int* targets, float* loss, int rows, int vocab, cudaStream_t s);
// x[i] = pseudo-random values, uniform with standard deviation `stddev`, from a counter hash of
// (seed, i): deterministic, and any size fills in one pass on the GPU (a host generator took tens
// of seconds for a large model's embedding and LM-head tables).
void fill_uniform(bf16* x, std::int64_t n, std::uint64_t seed, float stddev, cudaStream_t s);
// Keeps `s` busy for about `ns` nanoseconds (one thread reading the GPU's global timer): lets the
// host enqueue work behind it before the GPU reaches it, so that a timed span holds no launch gap.
void gpu_spin(std::int64_t ns, cudaStream_t s);
// d = (p - onehot(target)) / rows, in place.
void cross_entropy_backward(bf16* probs_to_grad, const int* targets, int rows, int vocab, cudaStream_t s);

}  // namespace ppsim::cuda
