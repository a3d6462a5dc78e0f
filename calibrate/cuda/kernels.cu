#include "calibrate/cuda/kernels.h"

#include "calibrate/cuda/check.h"

namespace ppsim::cuda {
namespace {

constexpr int kThreads = 256;
constexpr float kEps = 1e-5f;

__device__ float to_f(bf16 v) { return __bfloat162float(v); }
__device__ bf16 to_b(float v) { return __float2bfloat16(v); }

// Block-wide sum of one value per thread (blockDim.x == kThreads).
__device__ float block_sum(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float total = 0;
  for (int w = 0; w < kThreads / 32; ++w) total += shared[w];
  return total;
}

__device__ float block_max(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  float m = -INFINITY;
  for (int w = 0; w < kThreads / 32; ++w) m = fmaxf(m, shared[w]);
  return m;
}

__device__ std::uint64_t splitmix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

__global__ void fill_uniform_k(bf16* x, std::int64_t n, std::uint64_t seed, float half_width) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float u = float(splitmix64(seed ^ (std::uint64_t(i) * 0xd1b54a32d192ed03ULL)) >> 40) * (1.f / 16777216.f);
    x[i] = to_b((2.f * u - 1.f) * half_width);
  }
}

__global__ void gpu_spin_k(std::int64_t ns) {
  std::uint64_t t0, t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  } while (t - t0 < static_cast<std::uint64_t>(ns));
}

__global__ void norm_forward_k(bool ln, const bf16* x, const float* gain, const float* bias, bf16* y, float* mean_out,
                               float* rstd_out, int cols) {
  __shared__ float sh[32];
  const std::int64_t row = blockIdx.x;
  const bf16* xr = x + row * cols;
  float s = 0;
  if (ln) {
    for (int c = threadIdx.x; c < cols; c += kThreads) s += to_f(xr[c]);
    s = block_sum(s, sh);
  }
  const float mean = ln ? s / cols : 0.f;
  float sq = 0;
  for (int c = threadIdx.x; c < cols; c += kThreads) {
    const float d = to_f(xr[c]) - mean;
    sq += d * d;
  }
  sq = block_sum(sq, sh);
  const float rstd = rsqrtf(sq / cols + kEps);
  for (int c = threadIdx.x; c < cols; c += kThreads) {
    float v = (to_f(xr[c]) - mean) * rstd * gain[c];
    if (ln) v += bias[c];
    y[row * cols + c] = to_b(v);
  }
  if (threadIdx.x == 0) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

__global__ void norm_backward_k(bool ln, const bf16* dy, const bf16* x, const float* gain, const float* mean,
                                const float* rstd, const bf16* residual, bf16* dx, int cols) {
  __shared__ float sh[32];
  const std::int64_t row = blockIdx.x;
  const float m = mean[row], r = rstd[row];
  float s_dhat = 0, s_dhat_hat = 0;
  for (int c = threadIdx.x; c < cols; c += kThreads) {
    const float dhat = to_f(dy[row * cols + c]) * gain[c];
    const float hat = (to_f(x[row * cols + c]) - m) * r;
    s_dhat += dhat;
    s_dhat_hat += dhat * hat;
  }
  const float mean_dhat = ln ? block_sum(s_dhat, sh) / cols : 0.f;
  const float mean_dhat_hat = block_sum(s_dhat_hat, sh) / cols;
  for (int c = threadIdx.x; c < cols; c += kThreads) {
    const float dhat = to_f(dy[row * cols + c]) * gain[c];
    const float hat = (to_f(x[row * cols + c]) - m) * r;
    float v = r * (dhat - mean_dhat - hat * mean_dhat_hat);
    if (residual) v += to_f(residual[row * cols + c]);
    dx[row * cols + c] = to_b(v);
  }
}

// One thread per column, rows split over blockIdx.y; partial sums added atomically.
__global__ void norm_weight_grad_k(const bf16* dy, const bf16* x, const float* mean, const float* rstd, float* dgain,
                                   float* dbias, int rows, int cols, int rows_per_block) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const int r0 = blockIdx.y * rows_per_block, r1 = min(rows, r0 + rows_per_block);
  float g = 0, b = 0;
  for (int r = r0; r < r1; ++r) {
    const float d = to_f(dy[std::int64_t(r) * cols + c]);
    g += d * (to_f(x[std::int64_t(r) * cols + c]) - mean[r]) * rstd[r];
    b += d;
  }
  atomicAdd(&dgain[c], g);
  if (dbias) atomicAdd(&dbias[c], b);
}

__device__ float gelu_f(float u) {
  return 0.5f * u * (1.f + tanhf(0.7978845608f * (u + 0.044715f * u * u * u)));
}
__device__ float gelu_grad_f(float u) {
  const float t = tanhf(0.7978845608f * (u + 0.044715f * u * u * u));
  return 0.5f * (1.f + t) + 0.5f * u * (1.f - t * t) * 0.7978845608f * (1.f + 3.f * 0.044715f * u * u);
}
__device__ float sigmoid_f(float u) { return 1.f / (1.f + __expf(-u)); }

__global__ void activation_forward_k(bool swiglu, const bf16* u, const bf16* up, bf16* g, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n; i += std::int64_t(gridDim.x) * blockDim.x) {
    const float a = to_f(u[i]);
    g[i] = to_b(swiglu ? a * sigmoid_f(a) * to_f(up[i]) : gelu_f(a));
  }
}

__global__ void activation_backward_k(bool swiglu, const bf16* dg, const bf16* u, const bf16* up, bf16* du, bf16* dup,
                                      std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n; i += std::int64_t(gridDim.x) * blockDim.x) {
    const float a = to_f(u[i]), d = to_f(dg[i]);
    if (swiglu) {
      const float s = sigmoid_f(a);
      du[i] = to_b(d * to_f(up[i]) * s * (1.f + a * (1.f - s)));
      dup[i] = to_b(d * a * s);
    } else {
      du[i] = to_b(d * gelu_grad_f(a));
    }
  }
}

__global__ void embedding_forward_k(const int* ids, const bf16* table, bf16* out, std::int64_t n, int hidden) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n; i += std::int64_t(gridDim.x) * blockDim.x)
    out[i] = table[std::int64_t(ids[i / hidden]) * hidden + i % hidden];
}

__global__ void embedding_weight_grad_k(const int* ids, const bf16* dy, float* dtable, std::int64_t n, int hidden) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n; i += std::int64_t(gridDim.x) * blockDim.x)
    atomicAdd(&dtable[std::int64_t(ids[i / hidden]) * hidden + i % hidden], to_f(dy[i]));
}

__global__ void cross_entropy_forward_k(bf16* logits, const int* targets, float* loss, int vocab) {
  __shared__ float sh[32];
  const std::int64_t row = blockIdx.x;
  bf16* lr = logits + row * vocab;
  float m = -INFINITY;
  for (int c = threadIdx.x; c < vocab; c += kThreads) m = fmaxf(m, to_f(lr[c]));
  m = block_max(m, sh);
  float s = 0;
  for (int c = threadIdx.x; c < vocab; c += kThreads) s += __expf(to_f(lr[c]) - m);
  s = block_sum(s, sh);
  const float target_logit = to_f(lr[targets[row]]);
  __syncthreads();  // everyone has read the target logit before it is overwritten
  if (threadIdx.x == 0) loss[row] = m + __logf(s) - target_logit;
  const float inv = 1.f / s;
  for (int c = threadIdx.x; c < vocab; c += kThreads) lr[c] = to_b(__expf(to_f(lr[c]) - m) * inv);
}

__global__ void cross_entropy_backward_k(bf16* p, const int* targets, std::int64_t n, int vocab, float inv_rows) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n; i += std::int64_t(gridDim.x) * blockDim.x) {
    const std::int64_t row = i / vocab;
    const float onehot = (i % vocab) == targets[row] ? 1.f : 0.f;
    p[i] = to_b((to_f(p[i]) - onehot) * inv_rows);
  }
}

int grid_for(std::int64_t n) { return int(std::min<std::int64_t>((n + kThreads - 1) / kThreads, 65536)); }

}  // namespace

void norm_forward(bool ln, const bf16* x, const float* gain, const float* bias, bf16* y, float* mean, float* rstd,
                  int rows, int cols, cudaStream_t s) {
  norm_forward_k<<<rows, kThreads, 0, s>>>(ln, x, gain, bias, y, mean, rstd, cols);
  PPSIM_LAUNCH_CHECK("norm_forward");
}
void norm_backward(bool ln, const bf16* dy, const bf16* x, const float* gain, const float* mean, const float* rstd,
                   const bf16* residual, bf16* dx, int rows, int cols, cudaStream_t s) {
  norm_backward_k<<<rows, kThreads, 0, s>>>(ln, dy, x, gain, mean, rstd, residual, dx, cols);
  PPSIM_LAUNCH_CHECK("norm_backward");
}
void norm_weight_grad(const bf16* dy, const bf16* x, const float* mean, const float* rstd, float* dgain, float* dbias,
                      int rows, int cols, cudaStream_t s) {
  const int rows_per_block = 64;
  const dim3 grid((cols + kThreads - 1) / kThreads, (rows + rows_per_block - 1) / rows_per_block);
  norm_weight_grad_k<<<grid, kThreads, 0, s>>>(dy, x, mean, rstd, dgain, dbias, rows, cols, rows_per_block);
  PPSIM_LAUNCH_CHECK("norm_weight_grad");
}
void activation_forward(bool swiglu, const bf16* u, const bf16* up, bf16* g, std::int64_t n, cudaStream_t s) {
  activation_forward_k<<<grid_for(n), kThreads, 0, s>>>(swiglu, u, up, g, n);
  PPSIM_LAUNCH_CHECK("activation_forward");
}
void activation_backward(bool swiglu, const bf16* dg, const bf16* u, const bf16* up, bf16* du, bf16* dup,
                         std::int64_t n, cudaStream_t s) {
  activation_backward_k<<<grid_for(n), kThreads, 0, s>>>(swiglu, dg, u, up, du, dup, n);
  PPSIM_LAUNCH_CHECK("activation_backward");
}
void embedding_forward(const int* ids, const bf16* table, bf16* out, int tokens, int hidden, cudaStream_t s) {
  const std::int64_t n = std::int64_t(tokens) * hidden;
  embedding_forward_k<<<grid_for(n), kThreads, 0, s>>>(ids, table, out, n, hidden);
  PPSIM_LAUNCH_CHECK("embedding_forward");
}
void embedding_weight_grad(const int* ids, const bf16* dy, float* dtable, int tokens, int hidden, cudaStream_t s) {
  const std::int64_t n = std::int64_t(tokens) * hidden;
  embedding_weight_grad_k<<<grid_for(n), kThreads, 0, s>>>(ids, dy, dtable, n, hidden);
  PPSIM_LAUNCH_CHECK("embedding_weight_grad");
}
void cross_entropy_forward(bf16* logits, const int* targets, float* loss, int rows, int vocab, cudaStream_t s) {
  cross_entropy_forward_k<<<rows, kThreads, 0, s>>>(logits, targets, loss, vocab);
  PPSIM_LAUNCH_CHECK("cross_entropy_forward");
}
void cross_entropy_backward(bf16* p, const int* targets, int rows, int vocab, cudaStream_t s) {
  const std::int64_t n = std::int64_t(rows) * vocab;
  cross_entropy_backward_k<<<grid_for(n), kThreads, 0, s>>>(p, targets, n, vocab, 1.f / rows);
  PPSIM_LAUNCH_CHECK("cross_entropy_backward");
}

void fill_uniform(bf16* x, std::int64_t n, std::uint64_t seed, float stddev, cudaStream_t s) {
  if (n <= 0) return;
  const std::int64_t blocks = std::min<std::int64_t>((n + kThreads - 1) / kThreads, 65536);
  fill_uniform_k<<<static_cast<unsigned>(blocks), kThreads, 0, s>>>(x, n, seed, stddev * 1.7320508f);  // sqrt(3)
  PPSIM_LAUNCH_CHECK("fill_uniform");
}

void gpu_spin(std::int64_t ns, cudaStream_t s) {
  gpu_spin_k<<<1, 1, 0, s>>>(ns);
  PPSIM_LAUNCH_CHECK("gpu_spin");
}

}  // namespace ppsim::cuda
