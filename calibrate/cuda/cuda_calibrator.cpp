// Host side of the CUDA backend (plain C++ against the CUDA runtime; kernels live in kernels.cu and
// flash_attention.cu).
// NOT YET RUN ON A GPU: it compiles, and the tests that would run it skip without one.
#include "calibrate/cuda/cuda_calibrator.h"

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "calibrate/cpu/layers.h"
#include "calibrate/cuda/attention.h"
#include "calibrate/cuda/check.h"
#include "calibrate/cuda/flash_attention.h"
#include "calibrate/cuda/gemm.h"
#include "calibrate/cuda/kernels.h"
#include "calibrate/cuda/sm_partitions.h"
#include "calibrate/profile_merge.h"
#include "calibrate/reference.h"
#include "base/error.h"
#include "base/version.h"

namespace ppsim::cuda {
namespace {

// A device allocation freed on scope exit.
struct DevBuf {
  void* p = nullptr;
  std::size_t bytes = 0;
  explicit DevBuf(std::size_t n) : bytes(n) {
    if (n) PPSIM_CUDA_CHECK(cudaMalloc(&p, n));
  }
  ~DevBuf() { cudaFree(p); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
  template <class T>
  T* as() const { return static_cast<T*>(p); }
};

std::vector<bf16> to_bf16(const ref::RefMatrix& m) {
  std::vector<bf16> out(static_cast<std::size_t>(m.size()));
  for (Eigen::Index i = 0; i < m.size(); ++i) out[static_cast<std::size_t>(i)] = __float2bfloat16(float(m.data()[i]));
  return out;
}
ref::RefMatrix from_bf16(const std::vector<bf16>& v, Eigen::Index rows, Eigen::Index cols) {
  ref::RefMatrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = double(__bfloat162float(v[static_cast<std::size_t>(i)]));
  return m;
}
// The inputs as the GPU sees them (rounded to bf16), so the comparison measures the kernel only.
ref::RefMatrix round_bf16(const ref::RefMatrix& m) { return from_bf16(to_bf16(m), m.rows(), m.cols()); }

std::unique_ptr<DevBuf> upload(const ref::RefMatrix& m) {
  auto h = to_bf16(m);
  auto d = std::make_unique<DevBuf>(h.size() * sizeof(bf16));
  PPSIM_CUDA_CHECK(cudaMemcpy(d->p, h.data(), d->bytes, cudaMemcpyHostToDevice));
  return d;
}
std::unique_ptr<DevBuf> upload_f32(const ref::RefVector& v) {
  std::vector<float> h(static_cast<std::size_t>(v.size()));
  for (Eigen::Index i = 0; i < v.size(); ++i) h[static_cast<std::size_t>(i)] = float(v[i]);
  auto d = std::make_unique<DevBuf>(std::max<std::size_t>(1, h.size()) * sizeof(float));
  if (!h.empty()) PPSIM_CUDA_CHECK(cudaMemcpy(d->p, h.data(), h.size() * sizeof(float), cudaMemcpyHostToDevice));
  return d;
}
ref::RefMatrix download(const DevBuf& d, Eigen::Index rows, Eigen::Index cols) {
  std::vector<bf16> h(static_cast<std::size_t>(rows * cols));
  PPSIM_CUDA_CHECK(cudaMemcpy(h.data(), d.p, h.size() * sizeof(bf16), cudaMemcpyDeviceToHost));
  return from_bf16(h, rows, cols);
}

std::vector<float> download_f32(const DevBuf& d, std::size_t n) {
  std::vector<float> h(n);
  PPSIM_CUDA_CHECK(cudaMemcpy(h.data(), d.p, n * sizeof(float), cudaMemcpyDeviceToHost));
  return h;
}
ref::RefVector as_row(const std::vector<float>& v) {
  ref::RefVector r(static_cast<Eigen::Index>(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i) r[static_cast<Eigen::Index>(i)] = v[i];
  return r;
}

// ---- Timed regions: an event pair around every kernel of a pass, read after the pass. ----
struct Region {
  std::string name;
  double flops = 0;
  cudaEvent_t start = nullptr, stop = nullptr;
  std::vector<TimeNs> samples;
};

class Recorder {
 public:
  explicit Recorder(cudaStream_t s) : stream_(s) {}
  ~Recorder() {
    for (auto& [key, regions] : passes_)
      for (auto& r : regions) {
        cudaEventDestroy(r.start);
        cudaEventDestroy(r.stop);
      }
  }
  // Starts one repetition of pass `key` (e.g. "block.forward"). The stream is idle here (end()
  // waited for it), so a spin of 0.5 ms keeps the GPU busy while the host enqueues the whole pass:
  // the timed span then holds no launch gaps, as in a pipeline whose host thread runs ahead.
  void begin(const std::string& key) {
    gpu_spin(500'000, stream_);
    key_ = key;
    index_ = 0;
  }
  template <class F>
  void region(const std::string& name, double flops, F&& launch) {
    auto& regions = passes_[key_];
    if (index_ == regions.size()) {
      Region r;
      r.name = name;
      r.flops = flops;
      PPSIM_CUDA_CHECK(cudaEventCreate(&r.start));
      PPSIM_CUDA_CHECK(cudaEventCreate(&r.stop));
      regions.push_back(std::move(r));
    }
    Region& r = regions[index_++];
    PPSIM_CUDA_CHECK(cudaEventRecord(r.start, stream_));
    launch();
    PPSIM_CUDA_CHECK(cudaEventRecord(r.stop, stream_));
  }
  // Waits for the pass and returns its total time (first start to last stop); keeps per-region
  // samples when `keep`.
  TimeNs end(bool keep) {
    auto& regions = passes_[key_];
    PPSIM_CUDA_CHECK(cudaStreamSynchronize(stream_));
    float total_ms = 0;
    PPSIM_CUDA_CHECK(cudaEventElapsedTime(&total_ms, regions.front().start, regions.back().stop));
    if (keep)
      for (auto& r : regions) {
        float ms = 0;
        PPSIM_CUDA_CHECK(cudaEventElapsedTime(&ms, r.start, r.stop));
        r.samples.push_back(static_cast<TimeNs>(std::llround(double(ms) * 1e6)));
      }
    return static_cast<TimeNs>(std::llround(double(total_ms) * 1e6));
  }
  const std::map<std::string, std::vector<Region>>& passes() const { return passes_; }

 private:
  cudaStream_t stream_;
  std::string key_;
  std::size_t index_ = 0;
  std::map<std::string, std::vector<Region>> passes_;
};

constexpr std::size_t kL2Flush = 50u << 20;  // rotate inputs over more than the L2 cache

int rotations_for(std::size_t bytes) {
  return static_cast<int>(std::clamp<std::size_t>((kL2Flush + bytes - 1) / std::max<std::size_t>(bytes, 1), 2, 8));
}

// Timing inputs and weights: filled on the GPU (kernels.h, fill_uniform), synchronously.
void fill_random(DevBuf& b, std::uint64_t seed, float scale) {
  fill_uniform(b.as<bf16>(), static_cast<std::int64_t>(b.bytes / sizeof(bf16)), seed, scale, nullptr);
  PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
}

void fill_const_f32(DevBuf& b, float v) {
  std::vector<float> h(b.bytes / sizeof(float), v);
  PPSIM_CUDA_CHECK(cudaMemcpy(b.p, h.data(), b.bytes, cudaMemcpyHostToDevice));
}

void fill_ids(DevBuf& b, int vocab, std::uint64_t seed) {
  const auto ids = cpu::random_tokens(static_cast<int>(b.bytes / sizeof(int)), vocab, seed);
  PPSIM_CUDA_CHECK(cudaMemcpy(b.p, ids.data(), b.bytes, cudaMemcpyHostToDevice));
}

// All buffers of the three layer types for one (model, micro-batch, sequence) and the passes over
// them. Weight gradients accumulate in fp32 for norms and embedding, bf16 for GEMM outputs.
class GpuModel {
 public:
  GpuModel(const ModelSpec& spec, int micro_batch, int seq, cudaStream_t stream, Gemm& gemm, FusedAttention& attention)
      : s_(spec), mb_(micro_batch), seq_(seq), t_(micro_batch * seq), stream_(stream), gemm_(gemm),
        attention_(attention) {
    const std::size_t h = spec.hidden, f = spec.ffn_hidden, kv = std::size_t(spec.kv_heads) * spec.head_dim();
    const std::size_t T = t_, V = spec.vocab;
    auto b16 = [](std::size_t n) { return std::make_unique<DevBuf>(n * sizeof(bf16)); };
    auto f32 = [](std::size_t n) { return std::make_unique<DevBuf>(std::max<std::size_t>(n, 1) * sizeof(float)); };
    rot_ = rotations_for(T * h * sizeof(bf16));
    for (int i = 0; i < rot_; ++i) {
      xs_.push_back(b16(T * h));
      dys_.push_back(b16(T * h));
      fill_random(*xs_.back(), 100 + i, 1.f);
      fill_random(*dys_.back(), 200 + i, 1e-2f);
      ids_.push_back(std::make_unique<DevBuf>(T * sizeof(int)));
      targets_.push_back(std::make_unique<DevBuf>(T * sizeof(int)));
      fill_ids(*ids_.back(), spec.vocab, 300 + i);
      fill_ids(*targets_.back(), spec.vocab, 400 + i);
    }
    const float sh = 1.f / std::sqrt(float(h)), sf = 1.f / std::sqrt(float(f));
    auto weight = [&](std::size_t n, float scale, std::uint64_t seed) {
      auto b = b16(n);
      fill_random(*b, seed, scale);
      return b;
    };
    wq_ = weight(h * h, sh, 1), wk_ = weight(h * kv, sh, 2), wv_ = weight(h * kv, sh, 3), wo_ = weight(h * h, sh, 4);
    w1_ = weight(h * f, sh, 5), w2_ = weight(f * h, sf, 6);
    if (swiglu()) w3_ = weight(h * f, sh, 7);
    table_ = weight(V * h, 1.f, 8), w_out_ = weight(V * h, sh, 9);
    gain_ = f32(h), bias_ = f32(h);
    fill_const_f32(*gain_, 1.f);
    fill_const_f32(*bias_, 0.f);
    for (auto* g : {&gwq_, &gwo_}) *g = b16(h * h);
    for (auto* g : {&gwk_, &gwv_}) *g = b16(h * kv);
    for (auto* g : {&gw1_, &gw2_, &gw3_}) *g = b16(h * f);
    gw_out_ = b16(V * h);
    gtable_ = f32(V * h);
    ggain_ = f32(h), gbias_ = f32(h);
    for (auto* a : {&n1_, &q_, &attn_, &x1_, &n2_, &y_, &dx1_, &dattn_, &dq_, &dn1_, &dx_, &dn2_}) *a = b16(T * h);
    for (auto* a : {&k_, &v_, &dk_, &dv_}) *a = b16(T * kv);
    for (auto* a : {&u_, &g_, &dg_, &du_}) *a = b16(T * f);
    if (swiglu()) for (auto* a : {&up_, &dup_}) *a = b16(T * f);
    lse_ = f32(attn_shape().row_stat_floats());
    logits_ = b16(T * V);
    loss_ = f32(T);
    for (auto* a : {&mean1_, &rstd1_, &mean2_, &rstd2_}) *a = f32(T);
  }

  bool swiglu() const { return s_.activation == Activation::SwiGlu; }
  bool ln() const { return s_.norm == Norm::LayerNorm; }
  int rotations() const { return rot_; }
  AttentionShape attn_shape() const { return {mb_, seq_, s_.heads, s_.kv_heads, s_.head_dim()}; }
  std::int64_t tokens() const { return t_; }

  // One GEMM as a named region.
  void mm(Recorder& rec, const std::string& name, bool ta, bool tb, int m, int n, int k, const DevBuf& a, int lda,
          const DevBuf& b, int ldb, DevBuf& c, int ldc, float beta = 0.f) {
    GemmShape sh{ta, tb, m, n, k, lda, ldb, ldc};
    rec.region(name, Gemm::flops(sh), [&] { gemm_.run(sh, a.p, b.p, c.p, beta, stream_); });
  }

  void embedding_forward(Recorder& rec, int r) {
    rec.region("gather", 0, [&] {
      cuda::embedding_forward(ids_[r]->as<int>(), table_->as<bf16>(), y_->as<bf16>(), t_, s_.hidden, stream_);
    });
  }
  void embedding_weight(Recorder& rec, int r) {
    rec.region("scatter_add", 0, [&] {
      cuda::embedding_weight_grad(ids_[r]->as<int>(), dys_[r]->as<bf16>(), gtable_->as<float>(), t_, s_.hidden, stream_);
    });
  }

  void block_forward(Recorder& rec, int r) {
    const int h = s_.hidden, f = s_.ffn_hidden, kv = s_.kv_heads * s_.head_dim();
    const DevBuf& x = *xs_[r];
    rec.region("norm1", 0, [&] {
      norm_forward(ln(), x.as<bf16>(), gain_->as<float>(), bias_->as<float>(), n1_->as<bf16>(), mean1_->as<float>(),
                   rstd1_->as<float>(), t_, h, stream_);
    });
    mm(rec, "q_proj", false, false, t_, h, h, *n1_, h, *wq_, h, *q_, h);
    mm(rec, "k_proj", false, false, t_, kv, h, *n1_, h, *wk_, kv, *k_, kv);
    mm(rec, "v_proj", false, false, t_, kv, h, *n1_, h, *wv_, kv, *v_, kv);
    // Fused causal attention (attention.h: cuDNN's or ours): K and V stay at kv_heads.
    attention_.forward(q_->as<bf16>(), k_->as<bf16>(), v_->as<bf16>(), attn_->as<bf16>(), lse_->as<float>(), stream_,
                       region(rec));
    rec.region("residual_copy", 0,
               [&] { PPSIM_CUDA_CHECK(cudaMemcpyAsync(x1_->p, x.p, x.bytes, cudaMemcpyDeviceToDevice, stream_)); });
    mm(rec, "o_proj_residual", false, false, t_, h, h, *attn_, h, *wo_, h, *x1_, h, 1.f);
    rec.region("norm2", 0, [&] {
      norm_forward(ln(), x1_->as<bf16>(), gain_->as<float>(), bias_->as<float>(), n2_->as<bf16>(), mean2_->as<float>(),
                   rstd2_->as<float>(), t_, h, stream_);
    });
    mm(rec, "mlp_up", false, false, t_, f, h, *n2_, h, *w1_, f, *u_, f);
    if (swiglu()) mm(rec, "mlp_gate", false, false, t_, f, h, *n2_, h, *w3_, f, *up_, f);
    rec.region("activation", 0, [&] {
      activation_forward(swiglu(), u_->as<bf16>(), swiglu() ? up_->as<bf16>() : nullptr, g_->as<bf16>(),
                         std::int64_t(t_) * f, stream_);
    });
    rec.region("residual_copy2", 0,
               [&] { PPSIM_CUDA_CHECK(cudaMemcpyAsync(y_->p, x1_->p, x1_->bytes, cudaMemcpyDeviceToDevice, stream_)); });
    mm(rec, "mlp_down_residual", false, false, t_, h, f, *g_, f, *w2_, h, *y_, h, 1.f);
  }

  void block_backward_input(Recorder& rec, int r) {
    const int h = s_.hidden, f = s_.ffn_hidden, kv = s_.kv_heads * s_.head_dim();
    const DevBuf& dy = *dys_[r];
    const DevBuf& x = *xs_[r];
    mm(rec, "mlp_down_dgrad", false, true, t_, f, h, dy, h, *w2_, h, *dg_, f);
    rec.region("activation_backward", 0, [&] {
      activation_backward(swiglu(), dg_->as<bf16>(), u_->as<bf16>(), swiglu() ? up_->as<bf16>() : nullptr,
                          du_->as<bf16>(), swiglu() ? dup_->as<bf16>() : nullptr, std::int64_t(t_) * f, stream_);
    });
    mm(rec, "mlp_up_dgrad", false, true, t_, h, f, *du_, f, *w1_, f, *dn2_, h);
    if (swiglu()) mm(rec, "mlp_gate_dgrad", false, true, t_, h, f, *dup_, f, *w3_, f, *dn2_, h, 1.f);
    rec.region("norm2_backward", 0, [&] {
      norm_backward(ln(), dn2_->as<bf16>(), x1_->as<bf16>(), gain_->as<float>(), mean2_->as<float>(),
                    rstd2_->as<float>(), dy.as<bf16>(), dx1_->as<bf16>(), t_, h, stream_);
    });
    mm(rec, "o_proj_dgrad", false, true, t_, h, h, *dx1_, h, *wo_, h, *dattn_, h);
    // Fused attention backward: dQ, dK and dV (GQA groups reduced), as one or several regions.
    attention_.backward(q_->as<bf16>(), k_->as<bf16>(), v_->as<bf16>(), attn_->as<bf16>(), dattn_->as<bf16>(),
                        lse_->as<float>(), dq_->as<bf16>(), dk_->as<bf16>(), dv_->as<bf16>(), stream_, region(rec));
    mm(rec, "q_proj_dgrad", false, true, t_, h, h, *dq_, h, *wq_, h, *dn1_, h);
    mm(rec, "k_proj_dgrad", false, true, t_, h, kv, *dk_, kv, *wk_, kv, *dn1_, h, 1.f);
    mm(rec, "v_proj_dgrad", false, true, t_, h, kv, *dv_, kv, *wv_, kv, *dn1_, h, 1.f);
    rec.region("norm1_backward", 0, [&] {
      norm_backward(ln(), dn1_->as<bf16>(), x.as<bf16>(), gain_->as<float>(), mean1_->as<float>(), rstd1_->as<float>(),
                    dx1_->as<bf16>(), dx_->as<bf16>(), t_, h, stream_);
    });
  }

  void block_backward_weight(Recorder& rec, int r) {
    const int h = s_.hidden, f = s_.ffn_hidden, kv = s_.kv_heads * s_.head_dim();
    mm(rec, "q_proj_wgrad", true, false, h, h, t_, *n1_, h, *dq_, h, *gwq_, h, 1.f);
    mm(rec, "k_proj_wgrad", true, false, h, kv, t_, *n1_, h, *dk_, kv, *gwk_, kv, 1.f);
    mm(rec, "v_proj_wgrad", true, false, h, kv, t_, *n1_, h, *dv_, kv, *gwv_, kv, 1.f);
    mm(rec, "o_proj_wgrad", true, false, h, h, t_, *attn_, h, *dx1_, h, *gwo_, h, 1.f);
    mm(rec, "mlp_up_wgrad", true, false, h, f, t_, *n2_, h, *du_, f, *gw1_, f, 1.f);
    if (swiglu()) mm(rec, "mlp_gate_wgrad", true, false, h, f, t_, *n2_, h, *dup_, f, *gw3_, f, 1.f);
    mm(rec, "mlp_down_wgrad", true, false, f, h, t_, *g_, f, *dys_[r], h, *gw2_, h, 1.f);
    rec.region("norm_wgrad", 0, [&] {
      norm_weight_grad(dn1_->as<bf16>(), xs_[r]->as<bf16>(), mean1_->as<float>(), rstd1_->as<float>(),
                       ggain_->as<float>(), ln() ? gbias_->as<float>() : nullptr, t_, h, stream_);
      norm_weight_grad(dn2_->as<bf16>(), x1_->as<bf16>(), mean2_->as<float>(), rstd2_->as<float>(),
                       ggain_->as<float>(), ln() ? gbias_->as<float>() : nullptr, t_, h, stream_);
    });
  }

  void head_forward(Recorder& rec, int r) {
    const int h = s_.hidden, V = s_.vocab;
    rec.region("final_norm", 0, [&] {
      norm_forward(ln(), xs_[r]->as<bf16>(), gain_->as<float>(), bias_->as<float>(), n1_->as<bf16>(),
                   mean1_->as<float>(), rstd1_->as<float>(), t_, h, stream_);
    });
    mm(rec, "lm_head", false, true, t_, V, h, *n1_, h, *w_out_, h, *logits_, V);
    rec.region("cross_entropy", 0, [&] {
      cross_entropy_forward(logits_->as<bf16>(), targets_[r]->as<int>(), loss_->as<float>(), t_, V, stream_);
    });
  }
  void head_backward_input(Recorder& rec, int r) {
    const int h = s_.hidden, V = s_.vocab;
    rec.region("cross_entropy_backward", 0,
               [&] { cross_entropy_backward(logits_->as<bf16>(), targets_[r]->as<int>(), t_, V, stream_); });
    mm(rec, "lm_head_dgrad", false, false, t_, h, V, *logits_, V, *w_out_, h, *dn1_, h);
    rec.region("final_norm_backward", 0, [&] {
      norm_backward(ln(), dn1_->as<bf16>(), xs_[r]->as<bf16>(), gain_->as<float>(), mean1_->as<float>(),
                    rstd1_->as<float>(), nullptr, dx_->as<bf16>(), t_, h, stream_);
    });
  }
  void head_backward_weight(Recorder& rec, int r) {
    const int h = s_.hidden, V = s_.vocab;
    mm(rec, "lm_head_wgrad", true, false, V, h, t_, *logits_, V, *n1_, h, *gw_out_, h, 1.f);
    rec.region("final_norm_wgrad", 0, [&] {
      norm_weight_grad(dn1_->as<bf16>(), xs_[r]->as<bf16>(), mean1_->as<float>(), rstd1_->as<float>(),
                       ggain_->as<float>(), ln() ? gbias_->as<float>() : nullptr, t_, h, stream_);
    });
  }

 private:
  // The attention's kernels as regions of the pass being recorded.
  static AttentionRegion region(Recorder& rec) {
    return [&rec](const char* name, double flops, const std::function<void()>& launch) { rec.region(name, flops, launch); };
  }

  using Buf = std::unique_ptr<DevBuf>;
  ModelSpec s_;
  int mb_, seq_, t_;
  cudaStream_t stream_;
  Gemm& gemm_;
  FusedAttention& attention_;
  int rot_ = 2;
  std::vector<Buf> xs_, dys_, ids_, targets_;
  Buf wq_, wk_, wv_, wo_, w1_, w2_, w3_, table_, w_out_, gain_, bias_;
  Buf gwq_, gwk_, gwv_, gwo_, gw1_, gw2_, gw3_, gw_out_, gtable_, ggain_, gbias_;
  Buf n1_, q_, k_, v_, attn_, x1_, n2_, u_, up_, g_, y_, lse_, logits_, loss_;
  Buf dg_, du_, dup_, dn2_, dx1_, dattn_, dq_, dk_, dv_, dn1_, dx_;
  Buf mean1_, rstd1_, mean2_, rstd2_;
};


// Device-local copies (what ranks sharing one GPU use as transfers) over sizes from min to max
// bytes, x4 apart: the median of `repeats` CUDA-event timings per size, after one warm-up.
std::vector<TransferSample> device_copy_sweep(cudaStream_t stream, std::int64_t min_bytes, std::int64_t max_bytes,
                                              int repeats) {
  void* a = nullptr;
  void* b = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  std::vector<TransferSample> out;
  auto free_all = [&] {
    if (a) cudaFree(a);
    if (b) cudaFree(b);
    if (start) cudaEventDestroy(start);
    if (stop) cudaEventDestroy(stop);
  };
  try {
    PPSIM_CUDA_CHECK(cudaMalloc(&a, static_cast<std::size_t>(max_bytes)));
    PPSIM_CUDA_CHECK(cudaMalloc(&b, static_cast<std::size_t>(max_bytes)));
    PPSIM_CUDA_CHECK(cudaEventCreate(&start));
    PPSIM_CUDA_CHECK(cudaEventCreate(&stop));
    out = sweep_transfers(min_bytes, max_bytes, 1, repeats, [&](std::size_t, std::int64_t size) {
      gpu_spin(200'000, stream);  // busy while the host enqueues the rest: no launch gap in the span
      PPSIM_CUDA_CHECK(cudaEventRecord(start, stream));
      PPSIM_CUDA_CHECK(cudaMemcpyAsync(b, a, static_cast<std::size_t>(size), cudaMemcpyDeviceToDevice, stream));
      PPSIM_CUDA_CHECK(cudaEventRecord(stop, stream));
      PPSIM_CUDA_CHECK(cudaEventSynchronize(stop));
      float ms = 0;
      PPSIM_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
      return double(ms) * 1e-3;
    });
  } catch (...) {
    free_all();
    throw;
  }
  free_all();
  return out;
}


// The yardstick for every kernel's TFLOP/s: a large square bf16 GEMM (8192^3, 1.1 TFLOP) through
// the same cuBLASLt path, on `stream`'s SMs; the median of 10 runs after 3 warm-ups.
double measure_gemm_peak_tflops(cudaStream_t stream, int sm_count_target) {
  constexpr int n = 8192;
  Gemm gemm(CUDA_R_16BF);
  gemm.set_sm_count_target(sm_count_target);
  DevBuf a(std::size_t(n) * n * sizeof(bf16)), b(std::size_t(n) * n * sizeof(bf16)), c(std::size_t(n) * n * sizeof(bf16));
  fill_random(a, 7, 1.f);
  fill_random(b, 8, 1.f);
  const GemmShape shape{false, false, n, n, n, n, n, n};
  Recorder rec(stream);
  std::vector<TimeNs> samples;
  for (int i = 0; i < 13; ++i) {
    rec.begin("peak");
    rec.region("gemm", Gemm::flops(shape), [&] { gemm.run(shape, a.p, b.p, c.p, 0.f, stream); });
    const TimeNs t = rec.end(false);
    if (i >= 3) samples.push_back(t);
  }
  return summarize(samples, Gemm::flops(shape)).tflops;
}

// Times every layer's F, B and W on `stream` (a whole GPU's, or a partition's of `sm_count_target`
// SMs) and fills p's layer timings and kernel table, the block's attention run by `attention`.
// `step` reports progress (may be empty). Partitions timed at once pass one `sync`: every
// partition's set-up is done before any timing starts, and all timing ends before any tear-down
// (whose cudaFree may synchronise the device).
void time_layers(const CalibrationOptions& opt, cudaStream_t stream, int sm_count_target, FusedAttention& attention,
                 Profile& p, const std::function<void(const std::string&)>& step, std::barrier<>* sync = nullptr) {
  const ModelSpec& spec = opt.model;
  Gemm gemm(CUDA_R_16BF);
  gemm.set_sm_count_target(sm_count_target);
  GpuModel model(spec, opt.micro_batch_size, opt.sequence_length, stream, gemm, attention);
  Recorder rec(stream);
  if (sync) sync->arrive_and_wait();
  const std::int64_t T = model.tokens();
  const std::int64_t act = T * spec.hidden * 2;
  struct Layer {
    const char* name;
    LayerProfile* out;
    cpu::PassFlops flops;
    std::function<void(int)> f, b, w;
  };
  std::vector<Layer> layers = {
      {"embedding", &p.embedding, cpu::embedding_flops(spec, T), [&](int r) { model.embedding_forward(rec, r); },
       [&](int) { rec.region("none", 0, [] {}); }, [&](int r) { model.embedding_weight(rec, r); }},
      {"block", &p.block, cpu::block_flops(spec, T, opt.sequence_length),
       [&](int r) { model.block_forward(rec, r); }, [&](int r) { model.block_backward_input(rec, r); },
       [&](int r) { model.block_backward_weight(rec, r); }},
      {"head", &p.head, cpu::head_flops(spec, T), [&](int r) { model.head_forward(rec, r); },
       [&](int r) { model.head_backward_input(rec, r); }, [&](int r) { model.head_backward_weight(rec, r); }},
  };
  for (auto& l : layers) {
    std::vector<TimeNs> tf, tb, tw;
    for (int i = 0; i < opt.warmup + opt.repeats; ++i) {
      const int r = i % model.rotations();
      const bool keep = i >= opt.warmup;
      rec.begin(std::string(l.name) + ".forward");
      l.f(r);
      const TimeNs f = rec.end(keep);
      rec.begin(std::string(l.name) + ".backward_input");
      l.b(r);
      const TimeNs b = rec.end(keep);
      rec.begin(std::string(l.name) + ".backward_weight");
      l.w(r);
      const TimeNs w = rec.end(keep);
      if (keep) {
        tf.push_back(f);
        tb.push_back(b);
        tw.push_back(w);
      }
      if (step) step(l.name);
    }
    l.out->forward = summarize(tf, l.flops.forward);
    l.out->backward_input = summarize(tb, l.flops.backward_input);
    l.out->backward_weight = summarize(tw, l.flops.backward_weight);
  }
  p.embedding.activation_bytes = act;
  p.block.activation_bytes = act;
  p.block.gradient_bytes = act;
  p.head.gradient_bytes = act;
  for (const auto& [key, regions] : rec.passes()) {
    const auto dot = key.find('.');
    for (const auto& r : regions) {
      if (r.samples.empty() || r.name == "none") continue;
      KernelProfile k;
      k.layer = key.substr(0, dot);
      k.pass = key.substr(dot + 1);
      k.name = r.name;
      k.timing = summarize(r.samples, r.flops);
      p.kernels.push_back(k);
    }
  }
  if (sync) sync->arrive_and_wait();
}

}  // namespace

int visible_device_count(std::string& why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    why = std::string("CUDA runtime: ") + cudaGetErrorString(e);
    cudaGetLastError();  // clear it
    return 0;
  }
  if (n == 0) why = "no CUDA device";
  return n;
}

DeviceInfo device_info(int device) {
  DeviceInfo info;
  info.kind = "cuda";
  cudaDeviceProp prop{};
  PPSIM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  info.name = prop.name;
  int driver = 0, runtime = 0, clock_khz = 0, mem_khz = 0;
  PPSIM_CUDA_CHECK(cudaDriverGetVersion(&driver));
  PPSIM_CUDA_CHECK(cudaRuntimeGetVersion(&runtime));
  PPSIM_CUDA_CHECK(cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device));
  PPSIM_CUDA_CHECK(cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, device));
  auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); };
  info.driver_version = version(driver) + " (CUDA driver API)";
  info.cuda_version = version(runtime);
  info.sm_clock_mhz = clock_khz / 1000;
  info.memory_clock_mhz = mem_khz / 1000;
  return info;
}

AttentionGrads attention_backward_reference(const ref::RefMatrix& q, const ref::RefMatrix& k, const ref::RefMatrix& v,
                                            const ref::RefMatrix& dout, int heads, int kv_heads, int seq) {
  const int d = static_cast<int>(q.cols()) / heads, group = heads / kv_heads;
  const double scale = 1.0 / std::sqrt(double(d));
  AttentionGrads g{ref::RefMatrix::Zero(q.rows(), q.cols()), ref::RefMatrix::Zero(k.rows(), k.cols()),
                   ref::RefMatrix::Zero(v.rows(), v.cols())};
  std::vector<double> p(static_cast<std::size_t>(seq)), dp(static_cast<std::size_t>(seq));
  for (Eigen::Index b = 0; b < q.rows() / seq; ++b)
    for (int h = 0; h < heads; ++h) {
      const int kh = h / group;
      for (int i = 0; i < seq; ++i) {
        const Eigen::Index qi = b * seq + i;
        double mx = -std::numeric_limits<double>::infinity();
        for (int j = 0; j <= i; ++j) {
          double dot = 0;
          for (int c = 0; c < d; ++c) dot += q(qi, h * d + c) * k(b * seq + j, kh * d + c);
          p[j] = dot * scale;
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int j = 0; j <= i; ++j) sum += (p[j] = std::exp(p[j] - mx));
        double dsum = 0;  // D_i = sum_j P_ij dP_ij
        for (int j = 0; j <= i; ++j) {
          p[j] /= sum;
          double dot = 0;
          for (int c = 0; c < d; ++c) dot += dout(qi, h * d + c) * v(b * seq + j, kh * d + c);
          dp[j] = dot;
          dsum += p[j] * dot;
        }
        for (int j = 0; j <= i; ++j) {
          const Eigen::Index kj = b * seq + j;
          const double ds = p[j] * (dp[j] - dsum) * scale;
          for (int c = 0; c < d; ++c) {
            g.dv(kj, kh * d + c) += p[j] * dout(qi, h * d + c);
            g.dq(qi, h * d + c) += ds * k(kj, kh * d + c);
            g.dk(kj, kh * d + c) += ds * q(qi, h * d + c);
          }
        }
      }
    }
  return g;
}

std::vector<KernelCheck> check_attention(int device, int head_dim, int heads, int kv_heads, int seq, int batch,
                                         AttentionKind kind) {
  PPSIM_CUDA_CHECK(cudaSetDevice(device));
  const AttentionShape s{batch, seq, heads, kv_heads, head_dim};
  const Eigen::Index T = s.tokens(), hq = Eigen::Index(heads) * head_dim, hk = Eigen::Index(kv_heads) * head_dim;
  // Queries a little larger than unit scale so that some rows have peaked softmaxes (the online
  // rescaling matters); every input rounded to bf16 as the GPU sees it.
  const ref::RefMatrix q = round_bf16(cpu::random_matrix<double>(T, hq, 1.5, 70));
  const ref::RefMatrix k = round_bf16(cpu::random_matrix<double>(T, hk, 1.0, 71));
  const ref::RefMatrix v = round_bf16(cpu::random_matrix<double>(T, hk, 1.0, 72));
  const ref::RefMatrix dout = round_bf16(cpu::random_matrix<double>(T, hq, 1.0, 73));
  auto dq_in = upload(q), dk_in = upload(k), dv_in = upload(v), ddo = upload(dout);
  DevBuf o(std::size_t(T * hq) * sizeof(bf16)), dq(std::size_t(T * hq) * sizeof(bf16));
  DevBuf dk(std::size_t(T * hk) * sizeof(bf16)), dv(std::size_t(T * hk) * sizeof(bf16));
  DevBuf stats(s.row_stat_floats() * sizeof(float));
  // The kernel asked for, or an error: a check must not quietly test the other one.
  FusedAttention attention(s, to_string(kind), 0);
  cudaStream_t stream = nullptr;
  attention.forward(dq_in->as<bf16>(), dk_in->as<bf16>(), dv_in->as<bf16>(), o.as<bf16>(), stats.as<float>(), stream);
  PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
  attention.backward(dq_in->as<bf16>(), dk_in->as<bf16>(), dv_in->as<bf16>(), o.as<bf16>(), ddo->as<bf16>(),
                     stats.as<float>(), dq.as<bf16>(), dk.as<bf16>(), dv.as<bf16>(), stream);
  PPSIM_CUDA_CHECK(cudaDeviceSynchronize());

  const AttentionGrads want = attention_backward_reference(q, k, v, dout, heads, kv_heads, seq);
  const std::string name = kind == AttentionKind::Cudnn ? "cudnn_attention" : "flash_attention";
  const std::string tag = "_d" + std::to_string(head_dim) + "_h" + std::to_string(heads) + "kv" +
                          std::to_string(kv_heads) + "_s" + std::to_string(seq) + "x" + std::to_string(batch);
  // Forward: bf16 output rounding and bf16 P in the PV product. Backward: bf16 P and dS as GEMM
  // inputs, D from the bf16 O, bf16 outputs; a wrong index or mask gives errors of order 1. The
  // same tolerances hold cuDNN's kernels, which round at the same places.
  const double fwd_tol = 2e-2, bwd_tol = 5e-2;
  // dQ and dK vanish where a query sees one key (the first position; all of a 1-token sequence):
  // there the GPU's few-ulp rounding must not count as a relative error of order 1e300, so their
  // errors are measured against at least the scale of dV.
  const double floor = 1e-3 * want.dv.cwiseAbs().maxCoeff();
  return {
      {name + "_forward" + tag,
       ref::relative_error(download(o, T, hq), ref::causal_attention(q, k, v, heads, kv_heads, seq)), fwd_tol},
      {name + "_dq" + tag, ref::relative_error(download(dq, T, hq), want.dq, floor), bwd_tol},
      {name + "_dk" + tag, ref::relative_error(download(dk, T, hk), want.dk, floor), bwd_tol},
      {name + "_dv" + tag, ref::relative_error(download(dv, T, hk), want.dv), bwd_tol},
  };
}

std::vector<KernelCheck> check_kernels(int device, const ModelSpec& model, AttentionKind attention) {
  PPSIM_CUDA_CHECK(cudaSetDevice(device));
  cudaStream_t stream = nullptr;  // the default stream, synchronous copies around it
  Gemm gemm(CUDA_R_16BF, 4u << 20);
  std::vector<KernelCheck> out;
  const double bf16_tol = 2e-2;  // 8 mantissa bits; a few roundings of outputs and intermediates

  // GEMM, all four transpose combinations (forward, dgrad and wgrad use three of them).
  for (int variant = 0; variant < 4; ++variant) {
    const bool ta = variant & 1, tb = variant & 2;
    const int m = 96, n = 80, k = 128;
    const ref::RefMatrix a = round_bf16(cpu::random_matrix<double>(ta ? k : m, ta ? m : k, 1.0, 10 + variant));
    const ref::RefMatrix b = round_bf16(cpu::random_matrix<double>(tb ? n : k, tb ? k : n, 1.0, 20 + variant));
    auto da = upload(a), db = upload(b);
    DevBuf dc(std::size_t(m) * n * sizeof(bf16));
    gemm.run({ta, tb, m, n, k, a.cols(), b.cols(), n}, da->p, db->p, dc.p, 0.f, stream);
    PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
    const ref::RefMatrix at = ta ? ref::RefMatrix(a.transpose()) : a, bt = tb ? ref::RefMatrix(b.transpose()) : b;
    out.push_back({std::string("gemm_") + (ta ? "t" : "n") + (tb ? "t" : "n"),
                   ref::relative_error(download(dc, m, n), ref::matmul(at, bt)), bf16_tol});
  }
  // Norm forward.
  {
    const int rows = 16, cols = 256;
    const ref::RefMatrix x = round_bf16(cpu::random_matrix<double>(rows, cols, 1.0, 30));
    const ref::RefVector gain = cpu::random_matrix<double>(1, cols, 0.1, 31).array() + 1.0;
    const ref::RefVector bias = cpu::random_matrix<double>(1, cols, 0.1, 32);
    auto dx = upload(x);
    auto dg = upload_f32(gain), db = upload_f32(bias);
    DevBuf y(std::size_t(rows) * cols * sizeof(bf16)), mean(rows * sizeof(float)), rstd(rows * sizeof(float));
    norm_forward(model.norm == Norm::LayerNorm, dx->as<bf16>(), dg->as<float>(), db->as<float>(), y.as<bf16>(),
                 mean.as<float>(), rstd.as<float>(), rows, cols, stream);
    PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
    out.push_back({"norm", ref::relative_error(download(y, rows, cols), ref::norm(model.norm, x, gain, bias)), bf16_tol});
  }
  // Activation forward.
  {
    const int rows = 16, cols = 512;
    const ref::RefMatrix u = round_bf16(cpu::random_matrix<double>(rows, cols, 2.0, 40));
    const ref::RefMatrix up = round_bf16(cpu::random_matrix<double>(rows, cols, 1.0, 41));
    auto du = upload(u), dup = upload(up);
    DevBuf g(std::size_t(rows) * cols * sizeof(bf16));
    const bool sw = model.activation == Activation::SwiGlu;
    activation_forward(sw, du->as<bf16>(), dup->as<bf16>(), g.as<bf16>(), std::int64_t(rows) * cols, stream);
    PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
    out.push_back({sw ? "swiglu" : "gelu",
                   ref::relative_error(download(g, rows, cols), sw ? ref::swiglu(u, up) : ref::gelu(u)), bf16_tol});
  }
  // Norm backward (dx, with and without the residual added) and its weight gradients, which the
  // kernel accumulates into (so they start from a known value).
  {
    const int rows = 16, cols = 256;
    const bool ln = model.norm == Norm::LayerNorm;
    const ref::RefMatrix x = round_bf16(cpu::random_matrix<double>(rows, cols, 1.0, 33));
    const ref::RefMatrix dy = round_bf16(cpu::random_matrix<double>(rows, cols, 1.0, 34));
    const ref::RefMatrix res = round_bf16(cpu::random_matrix<double>(rows, cols, 1.0, 35));
    const ref::RefVector gain = cpu::random_matrix<double>(1, cols, 0.1, 36).array() + 1.0;
    const ref::RefVector bias = cpu::random_matrix<double>(1, cols, 0.1, 37);
    const ref::RefVector start = cpu::random_matrix<double>(1, cols, 1.0, 38);
    auto dx_in = upload(x), ddy = upload(dy), dres = upload(res);
    auto dg = upload_f32(gain), db = upload_f32(bias), dgain = upload_f32(start), dbias = upload_f32(start);
    DevBuf y(std::size_t(rows) * cols * sizeof(bf16)), mean(rows * sizeof(float)), rstd(rows * sizeof(float));
    DevBuf dx(std::size_t(rows) * cols * sizeof(bf16)), dx_res(std::size_t(rows) * cols * sizeof(bf16));
    norm_forward(ln, dx_in->as<bf16>(), dg->as<float>(), db->as<float>(), y.as<bf16>(), mean.as<float>(),
                 rstd.as<float>(), rows, cols, stream);
    norm_backward(ln, ddy->as<bf16>(), dx_in->as<bf16>(), dg->as<float>(), mean.as<float>(), rstd.as<float>(), nullptr,
                  dx.as<bf16>(), rows, cols, stream);
    norm_backward(ln, ddy->as<bf16>(), dx_in->as<bf16>(), dg->as<float>(), mean.as<float>(), rstd.as<float>(),
                  dres->as<bf16>(), dx_res.as<bf16>(), rows, cols, stream);
    norm_weight_grad(ddy->as<bf16>(), dx_in->as<bf16>(), mean.as<float>(), rstd.as<float>(), dgain->as<float>(),
                     ln ? dbias->as<float>() : nullptr, rows, cols, stream);
    PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
    const ref::NormGrads want = ref::norm_backward(model.norm, x, gain, dy);
    out.push_back({"norm_backward", ref::relative_error(download(dx, rows, cols), want.dx), bf16_tol});
    out.push_back({"norm_backward_residual", ref::relative_error(download(dx_res, rows, cols), ref::RefMatrix(want.dx + res)),
                   bf16_tol});
    const ref::RefVector got_gain = as_row(download_f32(*dgain, cols)) - start;
    out.push_back({"norm_weight_grad_gain", ref::relative_error(got_gain, want.dgain), 1e-3});
    if (ln) {
      const ref::RefVector got_bias = as_row(download_f32(*dbias, cols)) - start;
      out.push_back({"norm_weight_grad_bias", ref::relative_error(got_bias, want.dbias), 1e-3});
    }
  }
  // Activation backward.
  {
    const int rows = 16, cols = 512;
    const bool sw = model.activation == Activation::SwiGlu;
    const ref::RefMatrix u = round_bf16(cpu::random_matrix<double>(rows, cols, 2.0, 42));
    const ref::RefMatrix up = round_bf16(cpu::random_matrix<double>(rows, cols, 1.0, 43));
    const ref::RefMatrix dgr = round_bf16(cpu::random_matrix<double>(rows, cols, 1.0, 44));
    auto du_in = upload(u), dup_in = upload(up), ddg = upload(dgr);
    DevBuf du(std::size_t(rows) * cols * sizeof(bf16)), dup(std::size_t(rows) * cols * sizeof(bf16));
    activation_backward(sw, ddg->as<bf16>(), du_in->as<bf16>(), dup_in->as<bf16>(), du.as<bf16>(),
                        sw ? dup.as<bf16>() : nullptr, std::int64_t(rows) * cols, stream);
    PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
    if (sw) {
      const ref::SwigluGrads want = ref::swiglu_backward(u, up, dgr);
      out.push_back({"swiglu_backward_gate", ref::relative_error(download(du, rows, cols), want.dgate), bf16_tol});
      out.push_back({"swiglu_backward_up", ref::relative_error(download(dup, rows, cols), want.dup), bf16_tol});
    } else {
      out.push_back({"gelu_backward", ref::relative_error(download(du, rows, cols), ref::gelu_backward(u, dgr)), bf16_tol});
    }
  }
  // Embedding lookup and its weight gradient (fp32 atomics; repeated ids accumulate).
  {
    const int vocab = 50, tokens = 64, hidden = 96;
    const ref::RefMatrix table = round_bf16(cpu::random_matrix<double>(vocab, hidden, 1.0, 50));
    const ref::RefMatrix dy = round_bf16(cpu::random_matrix<double>(tokens, hidden, 1.0, 51));
    const cpu::Tokens ids = cpu::random_tokens(tokens, vocab, 52);
    auto dtab = upload(table), ddy = upload(dy);
    DevBuf dids(tokens * sizeof(int)), outb(std::size_t(tokens) * hidden * sizeof(bf16));
    DevBuf gtab(std::size_t(vocab) * hidden * sizeof(float));
    PPSIM_CUDA_CHECK(cudaMemcpy(dids.p, ids.data(), dids.bytes, cudaMemcpyHostToDevice));
    PPSIM_CUDA_CHECK(cudaMemset(gtab.p, 0, gtab.bytes));
    embedding_forward(dids.as<int>(), dtab->as<bf16>(), outb.as<bf16>(), tokens, hidden, stream);
    embedding_weight_grad(dids.as<int>(), ddy->as<bf16>(), gtab.as<float>(), tokens, hidden, stream);
    PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
    out.push_back({"embedding_forward", ref::relative_error(download(outb, tokens, hidden), ref::gather_rows(table, ids)), 0.0});
    const std::vector<float> g = download_f32(gtab, std::size_t(vocab) * hidden);
    ref::RefMatrix got(vocab, hidden);
    for (Eigen::Index i = 0; i < got.size(); ++i) got.data()[i] = g[static_cast<std::size_t>(i)];
    out.push_back({"embedding_weight_grad", ref::relative_error(got, ref::scatter_add_rows(dy, ids, vocab)), 1e-5});
  }
  // The fused attention the calibration times, forward and backward, with the model's head dim and
  // GQA group size: two sequences of 200 tokens for ours (partial tiles, masking across tile
  // edges), of 256 for cuDNN's (older cuDNN needs multiples of 128; still two 128-row tiles).
  const int group = model.heads / model.kv_heads;
  const int seq = attention == AttentionKind::Cudnn ? 256 : 200;
  for (auto& c : check_attention(device, model.head_dim(), 2 * group, 2, seq, 2, attention)) out.push_back(std::move(c));
  // Softmax cross-entropy: the loss, per row, against the reference mean.
  {
    const int rows = 8, vocab = 1000;
    const ref::RefMatrix logits = round_bf16(cpu::random_matrix<double>(rows, vocab, 2.0, 60));
    const auto targets = cpu::random_tokens(rows, vocab, 61);
    auto dl = upload(logits);
    DevBuf dt(rows * sizeof(int)), loss(rows * sizeof(float));
    PPSIM_CUDA_CHECK(cudaMemcpy(dt.p, targets.data(), dt.bytes, cudaMemcpyHostToDevice));
    cross_entropy_forward(dl->as<bf16>(), dt.as<int>(), loss.as<float>(), rows, vocab, stream);
    std::vector<float> h(rows);
    PPSIM_CUDA_CHECK(cudaMemcpy(h.data(), loss.p, loss.bytes, cudaMemcpyDeviceToHost));
    double mean = 0;
    for (float l : h) mean += l;
    mean /= rows;
    const double expect = ref::softmax_cross_entropy(logits, targets);
    out.push_back({"cross_entropy", std::abs(mean - expect) / std::abs(expect), 1e-3});
    // Backward, in place over the probabilities the forward left: (p - onehot) / rows.
    cross_entropy_backward(dl->as<bf16>(), dt.as<int>(), rows, vocab, stream);
    PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
    out.push_back({"cross_entropy_backward",
                   ref::relative_error(download(*dl, rows, vocab), ref::softmax_cross_entropy_backward(logits, targets)),
                   bf16_tol});
  }
  return out;
}

Profile calibrate_cuda(const CalibrationOptions& opt) {
  // Where the wall time goes, for the summary (the target: a whole model in under 60 s).
  std::vector<CalibrationPhase> phases;
  auto clock = std::chrono::steady_clock::now();
  auto phase_done = [&](const char* what) {
    const auto now = std::chrono::steady_clock::now();
    phases.push_back({what, std::chrono::duration<double>(now - clock).count()});
    clock = now;
  };

  std::string why;
  const int visible = visible_device_count(why);
  if (visible == 0) throw InputError("--device cuda: " + why);
  std::vector<int> gpus = opt.gpus;
  if (gpus.empty())
    for (int i = 0; i < visible; ++i) gpus.push_back(i);
  for (int g : gpus)
    if (g >= visible) throw InputError("--gpus: GPU " + std::to_string(g) + " is not visible (" +
                                       std::to_string(visible) + " visible)");
  if (opt.dtype != DType::BF16)
    throw InputError("--dtype " + std::string(to_string(opt.dtype)) + ": the CUDA backend runs bf16 only so far");
  const ModelSpec& spec = opt.model;
  if (spec.hidden % spec.heads != 0 || spec.heads % spec.kv_heads != 0)
    throw InputError("model '" + spec.name + "': hidden must divide by heads and heads by kv_heads");
  if (opt.share_of > 0 && opt.partitions > opt.share_of)
    throw InputError("--partitions " + std::to_string(opt.partitions) + " with --sms 1/" +
                     std::to_string(opt.share_of) + ": at most " + std::to_string(opt.share_of) +
                     " partitions of that size fit");

  const int dev = gpus.front();
  PPSIM_CUDA_CHECK(cudaSetDevice(dev));
  {
    std::size_t free_bytes = 0, total_bytes = 0;
    PPSIM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    // Two stashes (rotating inputs) and the transfer sweep's two largest buffers.
    const std::int64_t sweep = opt.measure_transfers && gpus.size() > 1 ? 2 * opt.max_transfer_bytes : 0;
    check_calibration_fits(opt, 2, 2, static_cast<std::int64_t>(free_bytes) - sweep,
                           "GPU " + std::to_string(dev) + "'s free memory");
  }
  Profile p;
  p.ppsim_version = kVersion;
  p.device = device_info(dev);
  p.device.count = static_cast<int>(gpus.size());
  p.model = spec;
  p.micro_batch_size = opt.micro_batch_size;
  p.sequence_length = opt.sequence_length;
  p.dtype = DType::BF16;
  p.repeats = opt.repeats;
  p.warmup = opt.warmup;

  double done = 0;
  const double total = 3.0 * (opt.warmup + opt.repeats) + 2;
  auto step = [&](const std::string& what) {
    done += 1;
    if (opt.progress) opt.progress(std::min(1.0, done / total), what);
  };

  // --sms N: the layers run on a partition of N SMs (a green context), as a rank of `ppsim measure
  // --share-gpu` does; --sms 1/P: on the partition each of P ranks gets there (the same split); with
  // --partitions K, on K such partitions at once (as K ranks sharing the GPU run, contending for
  // its memory and L2), merged. The partitions own their streams.
  const int k = std::max(1, opt.partitions);
  std::unique_ptr<SmPartitions> partition;
  std::vector<cudaStream_t> streams;
  if (opt.share_of > 0)
    partition = std::make_unique<SmPartitions>(dev, std::max(k, opt.share_of), 0);
  else if (opt.sms > 0)
    partition = std::make_unique<SmPartitions>(dev, k, opt.sms);
  if (partition) {
    p.device.sms = partition->sms_per_partition();
    p.device.partitions = k;
    for (int i = 0; i < k; ++i) streams.push_back(partition->create_stream(i));
  } else {
    streams.push_back(nullptr);
    PPSIM_CUDA_CHECK(cudaStreamCreateWithFlags(&streams[0], cudaStreamNonBlocking));
  }
  const cudaStream_t stream = streams.front();
  phase_done("set-up");

  // The block's fused attention: cuDNN's where it runs this shape (unless --attention own), ours
  // otherwise; the numerics check and every timed pass use the same one.
  const AttentionShape shape{opt.micro_batch_size, opt.sequence_length, spec.heads, spec.kv_heads, spec.head_dim()};
  auto attention = std::make_unique<FusedAttention>(shape, opt.attention, p.device.sms);
  p.device.attention = to_string(attention->kind());
  p.device.attention_note = attention->note();
  phase_done("attention set-up");

  if (opt.check_numerics) {
    for (const auto& c : check_kernels(dev, spec, attention->kind())) {
      if (c.max_relative_error > c.tolerance)
        throw CudaError("numerics: kernel " + c.name + " differs from the float64 reference by " +
                        std::to_string(c.max_relative_error) + " (tolerance " + std::to_string(c.tolerance) + ")" +
                        (attention->kind() == AttentionKind::Cudnn ? "; --attention own times the in-house kernel instead"
                                                                   : ""));
      KernelProfile kp;
      kp.layer = "check";
      kp.pass = "numerics";
      kp.name = c.name;
      kp.max_relative_error = c.max_relative_error;
      p.kernels.push_back(kp);
    }
  }
  step("numerics");
  phase_done("numerics");

  p.device.gemm_peak_tflops = measure_gemm_peak_tflops(stream, p.device.sms);
  phase_done("GEMM peak");

  const std::function<void(const std::string&)> report = [&](const std::string& what) { step(what); };
  if (k == 1) {
    time_layers(opt, stream, p.device.sms, *attention, p, report);
  } else {
    std::vector<Profile> each(static_cast<std::size_t>(k), p);
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(k));
    std::vector<std::thread> threads;
    std::barrier<> sync(k);
    for (int i = 0; i < k; ++i)
      threads.emplace_back([&, i] {
        try {
          PPSIM_CUDA_CHECK(cudaSetDevice(dev));
          // Partition 0 uses the attention built above; the others their own of the same kind
          // (a cuDNN handle serves one thread at a time).
          std::unique_ptr<FusedAttention> mine;
          if (i > 0) mine = std::make_unique<FusedAttention>(shape, to_string(attention->kind()), p.device.sms);
          time_layers(opt, streams[i], p.device.sms, i == 0 ? *attention : *mine, each[i], i == 0 ? report : nullptr,
                      &sync);
        } catch (...) {
          errors[i] = std::current_exception();
          sync.arrive_and_drop();  // the others must not wait for this thread at the next barrier
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    p = merge_profiles(each);  // medians of the partitions' medians, mean of their means
  }
  phase_done("layers");

  if (!opt.measure_transfers) {
    p.transfer.reason = "transfers not measured (disabled)";
  } else if (partition) {
    // Ranks sharing this GPU hand tensors over by device-local copies: time those.
    fit_transfer(p.transfer,
                 device_copy_sweep(stream, opt.min_transfer_bytes, opt.max_transfer_bytes, std::max(3, opt.repeats / 2)),
                 "device-copy",
                 "gpu " + std::to_string(dev) + " -> gpu " + std::to_string(dev) + " (" + std::to_string(p.device.sms) +
                     "-SM partition: the transfers of ppsim measure --share-gpu)");
  } else if (gpus.size() < 2) {
    p.transfer.reason = "one GPU: transfers cannot be measured; the simulation uses the hardware spec's link";
  } else {
    fit_transfer(p.transfer,
                 nccl_send_recv_sweep(gpus[0], gpus[1], opt.min_transfer_bytes, opt.max_transfer_bytes,
                                      std::max(3, opt.repeats / 2), 60.0),
                 "nccl", "gpu " + std::to_string(gpus[0]) + " -> gpu " + std::to_string(gpus[1]));
  }
  step("transfers");
  attention.reset();
  if (!partition) PPSIM_CUDA_CHECK(cudaStreamDestroy(stream));
  partition.reset();
  phase_done("transfers");
  p.phases = std::move(phases);
  return p;
}

}  // namespace ppsim::cuda
