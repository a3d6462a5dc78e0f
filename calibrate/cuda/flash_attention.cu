// Fused causal attention, FlashAttention-2 style (see flash_attention.h). NOT YET RUN ON A GPU.
//
// Tensor cores through mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (inline PTX); operands
// reach registers with ldmatrix (.trans where the tile is stored k-major), tiles reach shared
// memory with cp.async (16 B per thread, zero-filled past the sequence end), double-buffered.
// Shared-memory rows are padded by 16 B (row stride head_dim + 8 elements), which makes every
// ldmatrix phase (8 rows x 16 B) and the 4-byte dS stores conflict-free for all compiled head
// dimensions without a swizzle.
//
// Fragment layouts of m16n8k16 (lane = 4 g + t): A a0 (row g, k 2t..2t+1), a1 (g+8, 2t), a2 (g, 2t+8),
// a3 (g+8, 2t+8); B b0 (k 2t..2t+1, col g), b1 (k 2t+8.., g); C c0,c1 (row g, cols 2t, 2t+1), c2,c3
// (row g+8). A C fragment pair of two n8 tiles is therefore the A fragment of the next product
// (P or dS stays in registers).
#include "calibrate/cuda/flash_attention.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "calibrate/cuda/check.h"

namespace ppsim::cuda {
namespace {

using bf16 = __nv_bfloat16;
constexpr double kLog2e = 1.4426950408889634;

// ---- PTX helpers ----
__device__ __forceinline__ std::uint32_t smem_addr(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}
// 16 bytes global -> shared; zero-filled (nothing read) when !valid.
__device__ __forceinline__ void cp_async16(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)), "l"(src),
               "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void cp_async4(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(dst)), "l"(src), "r"(valid ? 4 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}
__device__ __forceinline__ void ldsm_x4(std::uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
__device__ __forceinline__ void ldsm_x4_t(std::uint32_t (&r)[4], const bf16* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}
// c += a * b for one m16n8k16 tile.
__device__ __forceinline__ void mma(float (&c)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
// Two floats as a bf16 pair, the first in the low half (the lower column of a fragment).
__device__ __forceinline__ std::uint32_t pack(float lo, float hi) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<const std::uint32_t*>(&v);
}

// Two adjacent m16n8 accumulator fragments (columns 16kk .. 16kk+15 of a 16-row tile) as the bf16
// m16k16 A operand of the next mma: the C layout of mma.sync is the A layout split in halves.
__device__ __forceinline__ void c_pair_as_a(const float (*c)[4], int kk, std::uint32_t a[4]) {
  a[0] = pack(c[2 * kk][0], c[2 * kk][1]);
  a[1] = pack(c[2 * kk][2], c[2 * kk][3]);
  a[2] = pack(c[2 * kk + 1][0], c[2 * kk + 1][1]);
  a[3] = pack(c[2 * kk + 1][2], c[2 * kk + 1][3]);
}

// ldmatrix lane addresses (row, column) inside a 16 x 16 block, for the three operand kinds.
// A from a row-major [m][k] tile: matrices (m0-7,k0-7) (m8-15,k0-7) (m0-7,k8-15) (m8-15,k8-15).
__device__ __forceinline__ int a_row(int lane) { return lane % 16; }
__device__ __forceinline__ int a_col(int lane) { return (lane / 16) * 8; }
// B for two n8 tiles from an [n][k] tile (non-trans): (n0-7,k0-7) (n0-7,k8-15) (n8-15,k0-7) (n8-15,k8-15)
// = b0, b1 of tile n0 and b0, b1 of tile n0 + 8.
__device__ __forceinline__ int bn_row(int lane) { return lane % 8 + (lane / 16) * 8; }
__device__ __forceinline__ int bn_col(int lane) { return ((lane / 8) % 2) * 8; }
// B for two n8 tiles from a [k][n] tile (.trans): (k0-7,n0) (k8-15,n0) (k0-7,n8) (k8-15,n8): the
// same order. The same addresses serve A from a [k][m] tile with .trans when row/col swap roles:
// see at_row / at_col.
__device__ __forceinline__ int bk_row(int lane) { return lane % 8 + ((lane / 8) % 2) * 8; }
__device__ __forceinline__ int bk_col(int lane) { return (lane / 16) * 8; }
// A from a [k][m] tile (.trans): (m0-7,k0-7) (m8-15,k0-7) (m0-7,k8-15) (m8-15,k8-15) is stored as
// rows k0-7 at m0, rows k0-7 at m8, rows k8-15 at m0, rows k8-15 at m8.
__device__ __forceinline__ int at_row(int lane) { return lane % 8 + (lane / 16) * 8; }
__device__ __forceinline__ int at_col(int lane) { return ((lane / 8) % 2) * 8; }

// A rows x D tile of a head (global row stride ld elements) into shared memory (row stride D + 8);
// rows at or past `seq` are zero-filled.
template <int ROWS, int D, int THREADS>
__device__ __forceinline__ void load_tile(bf16* dst, const bf16* src, std::int64_t ld, int row0, int seq) {
  constexpr int kChunks = D / 8;
  for (int c = threadIdx.x; c < ROWS * kChunks; c += THREADS) {
    const int r = c / kChunks, col = (c % kChunks) * 8;
    const bool ok = row0 + r < seq;
    cp_async16(dst + r * (D + 8) + col, ok ? src + std::int64_t(row0 + r) * ld + col : src, ok);
  }
}

// ---- Forward ----
// 8 warps x 16 query rows = 128 rows per CTA, key/value tiles of 64 rows, double-buffered. Each
// warp keeps its Q fragments (D/16 x 4 registers) and its 16 x D output in registers; 16 rows per
// warp keeps the accumulators within ~170 registers at D = 128 (one 256-thread CTA per SM, 104 KB
// of shared memory), and 128-row CTAs halve the K/V reloads per query relative to 64-row ones.
// Bc = 64 keeps the 16 x 64 score tile at 32 registers. CTAs are launched longest-first (the last
// query tiles see the most keys) to even out the causal triangle.
constexpr int kFwdWarps = 8, kFwdThreads = kFwdWarps * 32, kFwdBr = kFwdWarps * 16, kFwdBc = 64;

template <int D>
constexpr int fwd_smem_bytes() {
  return (kFwdBr + 4 * kFwdBc) * (D + 8) * int(sizeof(bf16));
}

template <int D>
__global__ void __launch_bounds__(kFwdThreads) flash_fwd_k(const bf16* __restrict__ q, const bf16* __restrict__ k,
                                                           const bf16* __restrict__ v, bf16* __restrict__ o,
                                                           float* __restrict__ lse, int seq, int heads, int kv_heads,
                                                           float scale_log2) {
  constexpr int LD = D + 8, Br = kFwdBr, Bc = kFwdBc;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16* sQ = reinterpret_cast<bf16*>(smem);
  bf16* sK = sQ + Br * LD;      // 2 buffers of Bc x LD
  bf16* sV = sK + 2 * Bc * LD;  // 2 buffers

  const int qb = gridDim.x - 1 - blockIdx.x, h = blockIdx.y, b = blockIdx.z;
  const int hk = h / (heads / kv_heads);
  const std::int64_t ldq = std::int64_t(heads) * D, ldk = std::int64_t(kv_heads) * D;
  const bf16* qg = q + std::int64_t(b) * seq * ldq + std::int64_t(h) * D;
  const bf16* kg = k + std::int64_t(b) * seq * ldk + std::int64_t(hk) * D;
  const bf16* vg = v + std::int64_t(b) * seq * ldk + std::int64_t(hk) * D;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int q0 = qb * Br, row0 = q0 + warp * 16;
  const int n_kv = (min(seq, q0 + Br) + Bc - 1) / Bc;

  load_tile<Br, D, kFwdThreads>(sQ, qg, ldq, q0, seq);
  load_tile<Bc, D, kFwdThreads>(sK, kg, ldk, 0, seq);
  load_tile<Bc, D, kFwdThreads>(sV, vg, ldk, 0, seq);
  cp_async_commit();

  std::uint32_t qf[D / 16][4];
  float acc[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};

  for (int j = 0; j < n_kv; ++j) {
    if (j + 1 < n_kv) {
      const int nb = (j + 1) & 1;
      load_tile<Bc, D, kFwdThreads>(sK + nb * Bc * LD, kg, ldk, (j + 1) * Bc, seq);
      load_tile<Bc, D, kFwdThreads>(sV + nb * Bc * LD, vg, ldk, (j + 1) * Bc, seq);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    if (j == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) ldsm_x4(qf[kk], sQ + (warp * 16 + a_row(lane)) * LD + kk * 16 + a_col(lane));
    }
    const bf16* cK = sK + (j & 1) * Bc * LD;
    const bf16* cV = sV + (j & 1) * Bc * LD;
    const int k0 = j * Bc;
    if (k0 <= row0 + 15) {  // else every key of this tile is after all of this warp's queries
      float s[Bc / 8][4];
#pragma unroll
      for (int n = 0; n < Bc / 8; ++n) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
        for (int np = 0; np < Bc / 16; ++np) {
          std::uint32_t bfr[4];
          ldsm_x4(bfr, cK + (np * 16 + bn_row(lane)) * LD + kk * 16 + bn_col(lane));
          mma(s[2 * np], qf[kk], bfr[0], bfr[1]);
          mma(s[2 * np + 1], qf[kk], bfr[2], bfr[3]);
        }
      }
      // Scores in the log2 domain; causal mask on the tiles that cross the diagonal.
      const bool diagonal = k0 + Bc - 1 > row0;
      float mx[2] = {m[0], m[1]};
#pragma unroll
      for (int n = 0; n < Bc / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          float x = s[n][e] * scale_log2;
          if (diagonal && k0 + n * 8 + 2 * t + (e & 1) > row0 + g + (e >> 1) * 8) x = -INFINITY;
          s[n][e] = x;
          mx[e >> 1] = fmaxf(mx[e >> 1], x);
        }
      float corr[2], base[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        base[r] = mx[r] == -INFINITY ? 0.f : mx[r];  // a row with nothing visible yet stays at 0
        corr[r] = exp2f(m[r] - base[r]);
        m[r] = mx[r];
        l[r] *= corr[r];
      }
#pragma unroll
      for (int n = 0; n < Bc / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          s[n][e] = exp2f(s[n][e] - base[e >> 1]);
          l[e >> 1] += s[n][e];  // this thread's columns; the quad is summed at the end
        }
#pragma unroll
      for (int n = 0; n < D / 8; ++n) {
        acc[n][0] *= corr[0], acc[n][1] *= corr[0];
        acc[n][2] *= corr[1], acc[n][3] *= corr[1];
      }
      // O += P V, P from registers (bf16), V via ldmatrix.trans.
#pragma unroll
      for (int kk = 0; kk < Bc / 16; ++kk) {
        std::uint32_t a[4];
        c_pair_as_a(s, kk, a);
#pragma unroll
        for (int np = 0; np < D / 16; ++np) {
          std::uint32_t bfr[4];
          ldsm_x4_t(bfr, cV + (kk * 16 + bk_row(lane)) * LD + np * 16 + bk_col(lane));
          mma(acc[2 * np], a, bfr[0], bfr[1]);
          mma(acc[2 * np + 1], a, bfr[2], bfr[3]);
        }
      }
    }
    __syncthreads();  // this buffer is refilled two iterations on
  }

  bf16* og = o + std::int64_t(b) * seq * ldq + std::int64_t(h) * D;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
    const int row = row0 + g + r * 8;
    if (row >= seq) continue;
    const float inv = 1.f / l[r];
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
      *reinterpret_cast<std::uint32_t*>(og + std::int64_t(row) * ldq + n * 8 + 2 * t) =
          pack(acc[n][2 * r] * inv, acc[n][2 * r + 1] * inv);
    if (t == 0) lse[(std::int64_t(b) * heads + h) * seq + row] = m[r] + log2f(l[r]);
  }
}

// ---- Backward ----
// D = rowsum(dO * O): one warp per (token, head).
__global__ void flash_bwd_dvec_k(const bf16* __restrict__ o, const bf16* __restrict__ dout, float* __restrict__ dvec,
                                 std::int64_t rows, int seq, int heads, int d) {
  const std::int64_t w = (std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (w >= rows) return;
  const std::int64_t token = w / heads;
  const int h = int(w % heads);
  const std::int64_t off = token * heads * d + std::int64_t(h) * d;
  float s = 0;
  for (int c = lane; c < d; c += 32) s += __bfloat162float(o[off + c]) * __bfloat162float(dout[off + c]);
  for (int x = 16; x > 0; x >>= 1) s += __shfl_xor_sync(0xffffffffu, s, x);
  if (lane == 0) {
    const std::int64_t b = token / seq, i = token % seq;
    dvec[(b * heads + h) * seq + i] = s;
  }
}

// One CTA per (key tile of 128 rows, kv head, sequence): 8 warps x 16 key rows. dK and dV of the
// warp's rows stay in registers over every query tile of every query head of the GQA group (so
// the group reduction happens in registers, no atomics, no expanded copies). Per query tile of Br
// rows the warp computes Sᵀ = K Qᵀ and dPᵀ = V dOᵀ directly transposed, so Pᵀ and dSᵀ are A
// fragments of dV += Pᵀ dO and dK += dSᵀ Q without a shared-memory round trip; dSᵀ is also stored
// to shared memory once for dQ += dS K (ldmatrix.trans), added to an fp32 accumulator with
// atomics (FlashAttention-2's scheme). Br = 32 at D > 64 keeps the four 16 x Br score/gradient
// tiles plus the 2 x 16 x D dK/dV accumulators near 180 registers; Br = 64 below. Shared memory:
// K, V (128 x (D+8)) once, Q and dO double-buffered, dSᵀ 128 x (Br+8): 115 KB at D = 128.
constexpr int kBwdWarps = 8, kBwdThreads = kBwdWarps * 32, kBwdBc = kBwdWarps * 16;
template <int D>
constexpr int kBwdBr = D > 64 ? 32 : 64;
template <int D>
constexpr int bwd_smem_bytes() {
  return (2 * kBwdBc + 4 * kBwdBr<D>) * (D + 8) * int(sizeof(bf16)) +
         kBwdBc * (kBwdBr<D> + 8) * int(sizeof(bf16)) + 4 * kBwdBr<D> * int(sizeof(float));
}

template <int D>
__global__ void __launch_bounds__(kBwdThreads)
    flash_bwd_k(const bf16* __restrict__ q, const bf16* __restrict__ k, const bf16* __restrict__ v,
                const bf16* __restrict__ dout, const float* __restrict__ lse, const float* __restrict__ dvec,
                float* __restrict__ dq_accum, bf16* __restrict__ dk, bf16* __restrict__ dv, int seq, int heads,
                int kv_heads, float scale_log2, float scale) {
  constexpr int LD = D + 8, Bc = kBwdBc, Br = kBwdBr<D>, LDS = Br + 8;
  extern __shared__ __align__(16) unsigned char smem[];
  bf16* sK = reinterpret_cast<bf16*>(smem);
  bf16* sV = sK + Bc * LD;
  bf16* sQ = sV + Bc * LD;       // 2 buffers of Br x LD
  bf16* sdO = sQ + 2 * Br * LD;  // 2 buffers
  bf16* sdS = sdO + 2 * Br * LD;  // Bc x LDS: dSᵀ
  float* sL = reinterpret_cast<float*>(sdS + Bc * LDS);  // 2 x Br
  float* sD = sL + 2 * Br;                               // 2 x Br

  const int jb = blockIdx.x, hk = blockIdx.y, b = blockIdx.z;
  const int group = heads / kv_heads;
  const std::int64_t ldq = std::int64_t(heads) * D, ldk = std::int64_t(kv_heads) * D;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int kv0 = jb * Bc, jrow0 = kv0 + warp * 16;
  const int ib_first = kv0 / Br, n_qb = (seq + Br - 1) / Br, per_head = n_qb - ib_first, total = group * per_head;

  const bf16* kg = k + std::int64_t(b) * seq * ldk + std::int64_t(hk) * D;
  const bf16* vg = v + std::int64_t(b) * seq * ldk + std::int64_t(hk) * D;
  load_tile<Bc, D, kBwdThreads>(sK, kg, ldk, kv0, seq);
  load_tile<Bc, D, kBwdThreads>(sV, vg, ldk, kv0, seq);
  auto load_q = [&](int it, int buf) {
    const int hq = hk * group + it / per_head, i0 = (ib_first + it % per_head) * Br;
    const std::int64_t qoff = std::int64_t(b) * seq * ldq + std::int64_t(hq) * D;
    load_tile<Br, D, kBwdThreads>(sQ + buf * Br * LD, q + qoff, ldq, i0, seq);
    load_tile<Br, D, kBwdThreads>(sdO + buf * Br * LD, dout + qoff, ldq, i0, seq);
    const std::int64_t stat = (std::int64_t(b) * heads + hq) * seq;
    for (int r = threadIdx.x; r < 2 * Br; r += kBwdThreads) {
      const int row = i0 + r % Br;
      const bool ok = row < seq;
      const float* src = r < Br ? lse + stat : dvec + stat;
      cp_async4((r < Br ? sL : sD) + buf * Br + r % Br, ok ? src + row : src, ok);
    }
  };
  load_q(0, 0);
  cp_async_commit();

  float dka[D / 8][4], dva[D / 8][4];
#pragma unroll
  for (int n = 0; n < D / 8; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) dka[n][e] = dva[n][e] = 0.f;

  for (int it = 0; it < total; ++it) {
    if (it + 1 < total) {
      load_q(it + 1, (it + 1) & 1);
      cp_async_commit();
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    __syncthreads();
    const int buf = it & 1, hq = hk * group + it / per_head, i0 = (ib_first + it % per_head) * Br;
    const bf16* cQ = sQ + buf * Br * LD;
    const bf16* cdO = sdO + buf * Br * LD;
    const float* cL = sL + buf * Br;
    const float* cD = sD + buf * Br;

    // Sᵀ = K Qᵀ and dPᵀ = V dOᵀ for the warp's 16 key rows x Br query columns.
    float st[Br / 8][4], dpt[Br / 8][4];
#pragma unroll
    for (int n = 0; n < Br / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) st[n][e] = dpt[n][e] = 0.f;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      std::uint32_t ak[4], av[4];
      ldsm_x4(ak, sK + (warp * 16 + a_row(lane)) * LD + kk * 16 + a_col(lane));
      ldsm_x4(av, sV + (warp * 16 + a_row(lane)) * LD + kk * 16 + a_col(lane));
#pragma unroll
      for (int np = 0; np < Br / 16; ++np) {
        std::uint32_t bq[4], bo[4];
        ldsm_x4(bq, cQ + (np * 16 + bn_row(lane)) * LD + kk * 16 + bn_col(lane));
        mma(st[2 * np], ak, bq[0], bq[1]);
        mma(st[2 * np + 1], ak, bq[2], bq[3]);
        ldsm_x4(bo, cdO + (np * 16 + bn_row(lane)) * LD + kk * 16 + bn_col(lane));
        mma(dpt[2 * np], av, bo[0], bo[1]);
        mma(dpt[2 * np + 1], av, bo[2], bo[3]);
      }
    }
    // Pᵀ = exp2(Sᵀ·scale·log2e − lse) where query >= key (and inside the sequence); dSᵀ = Pᵀ(dPᵀ − D).
#pragma unroll
    for (int n = 0; n < Br / 8; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int il = n * 8 + 2 * t + (e & 1), i = i0 + il, jr = jrow0 + g + (e >> 1) * 8;
        const float p = (i < jr || i >= seq) ? 0.f : exp2f(st[n][e] * scale_log2 - cL[il]);
        st[n][e] = p;
        dpt[n][e] = p * (dpt[n][e] - cD[il]);
      }
    // dV += Pᵀ dO, dK += dSᵀ Q (B operands via ldmatrix.trans); dSᵀ to shared memory for dQ.
#pragma unroll
    for (int kk = 0; kk < Br / 16; ++kk) {
      std::uint32_t ap[4], ads[4];
      c_pair_as_a(st, kk, ap);
      c_pair_as_a(dpt, kk, ads);
#pragma unroll
      for (int np = 0; np < D / 16; ++np) {
        std::uint32_t bfr[4];
        ldsm_x4_t(bfr, cdO + (kk * 16 + bk_row(lane)) * LD + np * 16 + bk_col(lane));
        mma(dva[2 * np], ap, bfr[0], bfr[1]);
        mma(dva[2 * np + 1], ap, bfr[2], bfr[3]);
        ldsm_x4_t(bfr, cQ + (kk * 16 + bk_row(lane)) * LD + np * 16 + bk_col(lane));
        mma(dka[2 * np], ads, bfr[0], bfr[1]);
        mma(dka[2 * np + 1], ads, bfr[2], bfr[3]);
      }
      bf16* row_g = sdS + (warp * 16 + g) * LDS + kk * 16 + 2 * t;
      *reinterpret_cast<std::uint32_t*>(row_g) = ads[0];
      *reinterpret_cast<std::uint32_t*>(row_g + 8 * LDS) = ads[1];
      *reinterpret_cast<std::uint32_t*>(row_g + 8) = ads[2];
      *reinterpret_cast<std::uint32_t*>(row_g + 8 * LDS + 8) = ads[3];
    }
    __syncthreads();

    // dQ (Br x D) += dS K: warp -> (16-row tile mt, every WN-th pair of n8 tiles), k over the Bc keys.
    constexpr int MT = Br / 16, WN = kBwdWarps / MT, NP = D / 16, NPW = (NP + WN - 1) / WN;
    const int mt = warp % MT, wn = warp / MT;
    float dq[2 * NPW][4];
#pragma unroll
    for (int n = 0; n < 2 * NPW; ++n) dq[n][0] = dq[n][1] = dq[n][2] = dq[n][3] = 0.f;
#pragma unroll
    for (int kk = 0; kk < Bc / 16; ++kk) {
      std::uint32_t a[4];
      ldsm_x4_t(a, sdS + (kk * 16 + at_row(lane)) * LDS + mt * 16 + at_col(lane));
#pragma unroll
      for (int pi = 0; pi < NPW; ++pi) {
        const int np = wn + pi * WN;
        if (np < NP) {
          std::uint32_t bfr[4];
          ldsm_x4_t(bfr, sK + (kk * 16 + bk_row(lane)) * LD + np * 16 + bk_col(lane));
          mma(dq[2 * pi], a, bfr[0], bfr[1]);
          mma(dq[2 * pi + 1], a, bfr[2], bfr[3]);
        }
      }
    }
    float* dqg = dq_accum + std::int64_t(b) * seq * ldq + std::int64_t(hq) * D;
#pragma unroll
    for (int pi = 0; pi < NPW; ++pi) {
      const int np = wn + pi * WN;
      if (np >= NP) continue;
#pragma unroll
      for (int half = 0; half < 2; ++half)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          const int row = i0 + mt * 16 + g + r * 8;
          if (row >= seq) continue;
          float* dst = dqg + std::int64_t(row) * ldq + np * 16 + half * 8 + 2 * t;
          atomicAdd(dst, dq[2 * pi + half][2 * r]);
          atomicAdd(dst + 1, dq[2 * pi + half][2 * r + 1]);
        }
    }
    __syncthreads();  // sdS and this Q/dO buffer are rewritten next
  }

  bf16* dkg = dk + std::int64_t(b) * seq * ldk + std::int64_t(hk) * D;
  bf16* dvg = dv + std::int64_t(b) * seq * ldk + std::int64_t(hk) * D;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const int row = jrow0 + g + r * 8;
    if (row >= seq) continue;
#pragma unroll
    for (int n = 0; n < D / 8; ++n) {
      const std::int64_t off = std::int64_t(row) * ldk + n * 8 + 2 * t;
      *reinterpret_cast<std::uint32_t*>(dkg + off) = pack(dka[n][2 * r] * scale, dka[n][2 * r + 1] * scale);
      *reinterpret_cast<std::uint32_t*>(dvg + off) = pack(dva[n][2 * r], dva[n][2 * r + 1]);
    }
  }
}

__global__ void flash_dq_convert_k(const float* __restrict__ acc, bf16* __restrict__ dq, std::int64_t n, float scale) {
  for (std::int64_t i = blockIdx.x * std::int64_t(blockDim.x) + threadIdx.x; i < n;
       i += std::int64_t(gridDim.x) * blockDim.x)
    dq[i] = __float2bfloat16(acc[i] * scale);
}

void check_shape(const AttentionShape& s) {
  if (!flash_attention_supported(s.head_dim))
    fail("flash_attention", "head dim " + std::to_string(s.head_dim) + " has no compiled kernel (16, 64, 80, 96, 128)",
         __FILE__, __LINE__);
  if (s.batch < 1 || s.seq < 1 || s.heads < 1 || s.kv_heads < 1 || s.heads % s.kv_heads != 0)
    fail("flash_attention", "bad shape", __FILE__, __LINE__);
}

template <int D>
void launch_forward(const bf16* q, const bf16* k, const bf16* v, bf16* o, float* lse, const AttentionShape& s,
                    cudaStream_t stream) {
  constexpr int smem = fwd_smem_bytes<D>();
  // Per launch (cheap): the limit is per device, and the calibration may change device.
  PPSIM_CUDA_CHECK(cudaFuncSetAttribute(flash_fwd_k<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const dim3 grid((s.seq + kFwdBr - 1) / kFwdBr, s.heads, s.batch);
  flash_fwd_k<D><<<grid, kFwdThreads, smem, stream>>>(q, k, v, o, lse, s.seq, s.heads, s.kv_heads,
                                                      float(kLog2e / std::sqrt(double(D))));
  PPSIM_LAUNCH_CHECK("flash_attention_forward");
}

template <int D>
void launch_backward(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const float* lse,
                     const float* dvec, float* dq_accum, bf16* dk, bf16* dv, const AttentionShape& s,
                     cudaStream_t stream) {
  constexpr int smem = bwd_smem_bytes<D>();
  // Per launch (cheap): the limit is per device, and the calibration may change device.
  PPSIM_CUDA_CHECK(cudaFuncSetAttribute(flash_bwd_k<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const dim3 grid((s.seq + kBwdBc - 1) / kBwdBc, s.kv_heads, s.batch);
  const double scale = 1.0 / std::sqrt(double(D));
  flash_bwd_k<D><<<grid, kBwdThreads, smem, stream>>>(q, k, v, dout, lse, dvec, dq_accum, dk, dv, s.seq, s.heads,
                                                      s.kv_heads, float(kLog2e * scale), float(scale));
  PPSIM_LAUNCH_CHECK("flash_attention_backward");
}

}  // namespace

bool flash_attention_supported(int d) { return d == 16 || d == 64 || d == 80 || d == 96 || d == 128; }

double flash_attention_forward_flops(const AttentionShape& s) {
  return 2.0 * 2.0 * double(s.seq) * s.seq * s.head_dim * s.heads * s.batch / 2;
}
double flash_attention_backward_flops(const AttentionShape& s) { return 2.5 * flash_attention_forward_flops(s); }

void flash_attention_forward(const bf16* q, const bf16* k, const bf16* v, bf16* o, float* lse, const AttentionShape& s,
                             cudaStream_t stream) {
  check_shape(s);
  switch (s.head_dim) {
    case 16: return launch_forward<16>(q, k, v, o, lse, s, stream);
    case 64: return launch_forward<64>(q, k, v, o, lse, s, stream);
    case 80: return launch_forward<80>(q, k, v, o, lse, s, stream);
    case 96: return launch_forward<96>(q, k, v, o, lse, s, stream);
    default: return launch_forward<128>(q, k, v, o, lse, s, stream);
  }
}

void flash_attention_backward_prep(const bf16* o, const bf16* dout, float* dvec, float* dq_accum,
                                   const AttentionShape& s, cudaStream_t stream) {
  check_shape(s);
  PPSIM_CUDA_CHECK(cudaMemsetAsync(dq_accum, 0, s.dq_accum_floats() * sizeof(float), stream));
  const std::int64_t rows = s.tokens() * s.heads;
  const int threads = 256;
  flash_bwd_dvec_k<<<unsigned((rows * 32 + threads - 1) / threads), threads, 0, stream>>>(o, dout, dvec, rows, s.seq,
                                                                                         s.heads, s.head_dim);
  PPSIM_LAUNCH_CHECK("flash_attention_backward_prep");
}

void flash_attention_backward(const bf16* q, const bf16* k, const bf16* v, const bf16* dout, const float* lse,
                              const float* dvec, float* dq_accum, bf16* dk, bf16* dv, const AttentionShape& s,
                              cudaStream_t stream) {
  check_shape(s);
  switch (s.head_dim) {
    case 16: return launch_backward<16>(q, k, v, dout, lse, dvec, dq_accum, dk, dv, s, stream);
    case 64: return launch_backward<64>(q, k, v, dout, lse, dvec, dq_accum, dk, dv, s, stream);
    case 80: return launch_backward<80>(q, k, v, dout, lse, dvec, dq_accum, dk, dv, s, stream);
    case 96: return launch_backward<96>(q, k, v, dout, lse, dvec, dq_accum, dk, dv, s, stream);
    default: return launch_backward<128>(q, k, v, dout, lse, dvec, dq_accum, dk, dv, s, stream);
  }
}

void flash_attention_dq_convert(const float* dq_accum, bf16* dq, const AttentionShape& s, cudaStream_t stream) {
  check_shape(s);
  const std::int64_t n = std::int64_t(s.dq_accum_floats());
  const int threads = 256;
  const int blocks = int(std::min<std::int64_t>((n + threads - 1) / threads, 65536));
  flash_dq_convert_k<<<blocks, threads, 0, stream>>>(dq_accum, dq, n, float(1.0 / std::sqrt(double(s.head_dim))));
  PPSIM_LAUNCH_CHECK("flash_attention_dq_convert");
}

}  // namespace ppsim::cuda
