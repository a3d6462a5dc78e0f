// The layers of one pipeline stage on one GPU (see gpu_stage.h). NOT YET RUN ON A GPU.
#include "measure/cuda/gpu_stage.h"

#include <algorithm>
#include <cmath>

#include "calibrate/cuda/check.h"
#include "base/error.h"

namespace ppsim::gpu {
namespace {

std::uint64_t layer_seed(std::uint64_t seed, int layer) {
  return seed * 1000003ULL + static_cast<std::uint64_t>(layer + 2) * 7919ULL + 17;
}
constexpr int kEmbeddingLayer = -1;
constexpr int kHeadLayer = -2;

// Uniform values of standard deviation `scale`, generated on the GPU (deterministic; the values
// only need to be reasonable).
void fill_bf16(DeviceBuffer& b, std::uint64_t seed, float scale) {
  cuda::fill_uniform(b.as<bf16>(), static_cast<std::int64_t>(b.bytes() / sizeof(bf16)), seed, scale, nullptr);
  PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
}

void fill_f32(DeviceBuffer& b, float v) {
  std::vector<float> h(b.bytes() / sizeof(float), v);
  PPSIM_CUDA_CHECK(cudaMemcpy(b.get(), h.data(), b.bytes(), cudaMemcpyHostToDevice));
}

DeviceBuffer b16(std::size_t n) { return DeviceBuffer(n * sizeof(bf16)); }
DeviceBuffer f32(std::size_t n) { return DeviceBuffer(std::max<std::size_t>(n, 1) * sizeof(float)); }

std::vector<float> download_bf16(const DeviceBuffer& b) {
  std::vector<bf16> h(b.bytes() / sizeof(bf16));
  PPSIM_CUDA_CHECK(cudaMemcpy(h.data(), b.get(), b.bytes(), cudaMemcpyDeviceToHost));
  std::vector<float> out(h.size());
  for (std::size_t i = 0; i < h.size(); ++i) out[i] = __bfloat162float(h[i]);
  return out;
}
std::vector<float> download_f32(const DeviceBuffer& b) {
  std::vector<float> out(b.bytes() / sizeof(float));
  PPSIM_CUDA_CHECK(cudaMemcpy(out.data(), b.get(), b.bytes(), cudaMemcpyDeviceToHost));
  return out;
}

}  // namespace

DeviceBuffer::DeviceBuffer(std::size_t bytes) : bytes_(bytes) {
  if (bytes) PPSIM_CUDA_CHECK(cudaMalloc(&p_, bytes));
}
DeviceBuffer::~DeviceBuffer() {
  if (p_) cudaFree(p_);
}
DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
  if (this != &o) {
    if (p_) cudaFree(p_);
    p_ = o.p_, bytes_ = o.bytes_;
    o.p_ = nullptr, o.bytes_ = 0;
  }
  return *this;
}

Stash::~Stash() {
  if (released) cudaEventDestroy(released);
  if (comm_done) cudaEventDestroy(comm_done);
}

GpuStage::GpuStage(const ModelSpec& spec, int micro_batch_size, int sequence_length, int first_block, int blocks,
                   bool has_embedding, bool has_head, int microbatches, std::uint64_t seed, cuda::Gemm& gemm,
                   cuda::FusedAttention& attention, cudaStream_t compute, cudaStream_t comm)
    : spec_(spec), mb_(micro_batch_size), seq_(sequence_length), t_(micro_batch_size * sequence_length),
      first_block_(first_block), microbatches_(microbatches), has_embedding_(has_embedding), has_head_(has_head),
      gemm_(gemm), attention_(attention), compute_(compute), comm_(comm) {
  const std::size_t h = spec.hidden, f = spec.ffn_hidden, kv = std::size_t(spec.kv_heads) * spec.head_dim();
  const std::size_t T = t_, V = spec.vocab;
  const float sh = 1.f / std::sqrt(float(h)), sf = 1.f / std::sqrt(float(f));
  blocks_.resize(blocks);
  for (int b = 0; b < blocks; ++b) {
    BlockWeights& w = blocks_[b];
    const std::uint64_t ls = layer_seed(seed, first_block + b) * 16;
    auto weight = [&](DeviceBuffer& buf, std::size_t n, float scale, int which) {
      buf = b16(n);
      fill_bf16(buf, ls + which, scale);
    };
    weight(w.wq, h * h, sh, 1), weight(w.wk, h * kv, sh, 2), weight(w.wv, h * kv, sh, 3), weight(w.wo, h * h, sh, 4);
    weight(w.w1, h * f, sh, 5), weight(w.w2, f * h, sf, 6);
    if (swiglu()) weight(w.w3, h * f, sh, 7);
    for (auto* g : {&w.g1, &w.g2}) *g = f32(h), fill_f32(*g, 1.f);
    for (auto* g : {&w.b1, &w.b2}) *g = f32(h), fill_f32(*g, 0.f);
    w.gwq = b16(h * h), w.gwo = b16(h * h), w.gwk = b16(h * kv), w.gwv = b16(h * kv);
    w.gw1 = b16(h * f), w.gw2 = b16(f * h);
    if (swiglu()) w.gw3 = b16(h * f);
    w.gg1 = f32(h), w.gb1 = f32(h), w.gg2 = f32(h), w.gb2 = f32(h);
  }
  if (has_embedding) {
    table_ = b16(V * h);
    fill_bf16(table_, layer_seed(seed, kEmbeddingLayer) * 16, 1.f);
    gtable_ = f32(V * h);
  }
  if (has_head) {
    gf_ = f32(h), bf_ = f32(h);
    fill_f32(gf_, 1.f), fill_f32(bf_, 0.f);
    w_out_ = b16(V * h);
    fill_bf16(w_out_, layer_seed(seed, kHeadLayer) * 16, sh);
    ggf_ = f32(h), gbf_ = f32(h), gw_out_ = b16(V * h);
    losses_ = f32(std::size_t(microbatches) * T);
  }
  if (blocks > 0) dg_ = b16(T * f), dattn_ = b16(T * h);
  PPSIM_CUDA_CHECK(cudaDeviceSynchronize());
  zero_grads();
}

void GpuStage::set_inputs(const std::vector<std::vector<int>>& ids, const std::vector<std::vector<int>>& targets) {
  auto upload = [&](const std::vector<std::vector<int>>& src, std::vector<DeviceBuffer>& dst) {
    dst.clear();
    for (const auto& v : src) {
      if (static_cast<int>(v.size()) != t_) throw InputError("GPU stage: a micro-batch's token count is wrong");
      dst.emplace_back(v.size() * sizeof(int));
      PPSIM_CUDA_CHECK(cudaMemcpy(dst.back().get(), v.data(), dst.back().bytes(), cudaMemcpyHostToDevice));
    }
  };
  if (has_embedding_) upload(ids, ids_);
  if (has_head_) upload(targets, targets_);
}

std::size_t GpuStage::activation_bytes() const { return std::size_t(t_) * spec_.hidden * sizeof(bf16); }

std::unique_ptr<Stash> GpuStage::make_stash() const {
  const std::size_t h = spec_.hidden, f = spec_.ffn_hidden, kv = std::size_t(spec_.kv_heads) * spec_.head_dim();
  const std::size_t T = t_, V = spec_.vocab, n = blocks_.size();
  auto s = std::make_unique<Stash>();
  for (std::size_t i = 0; i <= n; ++i) s->h.push_back(b16(T * h)), s->dh.push_back(b16(T * h));
  const cuda::AttentionShape as{mb_, seq_, spec_.heads, spec_.kv_heads, spec_.head_dim()};
  s->blocks.resize(n);
  for (auto& b : s->blocks) {
    for (auto* a : {&b.n1, &b.q, &b.attn, &b.x1, &b.n2, &b.dq, &b.dx1, &b.dn1, &b.dn2}) *a = b16(T * h);
    for (auto* a : {&b.k, &b.v, &b.dk, &b.dv}) *a = b16(T * kv);
    for (auto* a : {&b.u, &b.g, &b.du}) *a = b16(T * f);
    if (spec_.activation == Activation::SwiGlu) b.up = b16(T * f), b.dup = b16(T * f);
    b.lse = f32(as.row_stat_floats());
    for (auto* a : {&b.mean1, &b.rstd1, &b.mean2, &b.rstd2}) *a = f32(T);
  }
  if (has_head_) {
    s->nf = b16(T * h), s->dnf = b16(T * h), s->logits = b16(T * V);
    s->meanf = f32(T), s->rstdf = f32(T);
  }
  PPSIM_CUDA_CHECK(cudaEventCreateWithFlags(&s->released, cudaEventDisableTiming));
  PPSIM_CUDA_CHECK(cudaEventCreateWithFlags(&s->comm_done, cudaEventDisableTiming));
  return s;
}

void GpuStage::reserve(int stashes) {
  while (static_cast<int>(pool_.size() + live_.size()) < stashes) pool_.push_back(make_stash());
}

Stash& GpuStage::acquire(int m) {
  auto it = live_.find(m);
  if (it != live_.end()) return *it->second;
  std::unique_ptr<Stash> s;
  if (pool_.empty()) {
    s = make_stash();  // not expected after reserve(): cudaMalloc inside a timed run
  } else {
    s = std::move(pool_.back());
    pool_.pop_back();
  }
  // The previous micro-batch's W may still read these buffers on the compute stream, and its
  // sends may still read them on the communication stream.
  PPSIM_CUDA_CHECK(cudaStreamWaitEvent(compute_, s->comm_done, 0));
  PPSIM_CUDA_CHECK(cudaStreamWaitEvent(comm_, s->released, 0));
  s->microbatch = m;
  s->released_recorded = false;
  return *live_.emplace(m, std::move(s)).first->second;
}

Stash& GpuStage::stash(int m) {
  auto it = live_.find(m);
  if (it == live_.end()) throw std::logic_error("GPU stage: no stash for micro-batch " + std::to_string(m));
  return *it->second;
}

void GpuStage::last_compute_use(int m) {
  Stash& s = stash(m);
  PPSIM_CUDA_CHECK(cudaEventRecord(s.released, compute_));
  s.released_recorded = true;
}

void GpuStage::release(int m) {
  auto it = live_.find(m);
  if (it == live_.end()) return;
  if (!it->second->released_recorded) PPSIM_CUDA_CHECK(cudaEventRecord(it->second->released, compute_));
  pool_.push_back(std::move(it->second));
  live_.erase(it);
}

void GpuStage::zero_grads() {
  auto z = [&](const DeviceBuffer& b) {
    if (b.get()) PPSIM_CUDA_CHECK(cudaMemsetAsync(b.get(), 0, b.bytes(), compute_));
  };
  for (auto& w : blocks_)
    for (auto* g : {&w.gwq, &w.gwk, &w.gwv, &w.gwo, &w.gw1, &w.gw2, &w.gw3, &w.gg1, &w.gb1, &w.gg2, &w.gb2}) z(*g);
  for (auto* g : {&gtable_, &ggf_, &gbf_, &gw_out_, &losses_}) z(*g);
}

void GpuStage::mm(bool ta, bool tb, int m, int n, int k, const DeviceBuffer& a, int lda, const DeviceBuffer& b,
                  int ldb, DeviceBuffer& c, int ldc, float beta) {
  gemm_.run(cuda::GemmShape{ta, tb, m, n, k, lda, ldb, ldc}, a.get(), b.get(), c.get(), beta, compute_);
}

// The passes below are cuda_calibrator.cpp's GpuModel passes with per-block weights and
// per-micro-batch stashes: x1 = x + attn·Wo and y = x1 + g·W2 (residual copies + beta = 1 GEMMs).
void GpuStage::block_forward(int bi, Stash& s) {
  const int h = spec_.hidden, f = spec_.ffn_hidden, kv = spec_.kv_heads * spec_.head_dim();
  BlockWeights& w = blocks_[bi];
  BlockStash& st = s.blocks[bi];
  const DeviceBuffer& x = s.h[bi];
  DeviceBuffer& y = s.h[bi + 1];
  cuda::norm_forward(ln(), x.as<bf16>(), w.g1.as<float>(), w.b1.as<float>(), st.n1.as<bf16>(), st.mean1.as<float>(),
                     st.rstd1.as<float>(), t_, h, compute_);
  mm(false, false, t_, h, h, st.n1, h, w.wq, h, st.q, h);
  mm(false, false, t_, kv, h, st.n1, h, w.wk, kv, st.k, kv);
  mm(false, false, t_, kv, h, st.n1, h, w.wv, kv, st.v, kv);
  attention_.forward(st.q.as<bf16>(), st.k.as<bf16>(), st.v.as<bf16>(), st.attn.as<bf16>(), st.lse.as<float>(),
                     compute_);
  PPSIM_CUDA_CHECK(cudaMemcpyAsync(st.x1.get(), x.get(), x.bytes(), cudaMemcpyDeviceToDevice, compute_));
  mm(false, false, t_, h, h, st.attn, h, w.wo, h, st.x1, h, 1.f);
  cuda::norm_forward(ln(), st.x1.as<bf16>(), w.g2.as<float>(), w.b2.as<float>(), st.n2.as<bf16>(),
                     st.mean2.as<float>(), st.rstd2.as<float>(), t_, h, compute_);
  mm(false, false, t_, f, h, st.n2, h, w.w1, f, st.u, f);
  if (swiglu()) mm(false, false, t_, f, h, st.n2, h, w.w3, f, st.up, f);
  cuda::activation_forward(swiglu(), st.u.as<bf16>(), swiglu() ? st.up.as<bf16>() : nullptr, st.g.as<bf16>(),
                           std::int64_t(t_) * f, compute_);
  PPSIM_CUDA_CHECK(cudaMemcpyAsync(y.get(), st.x1.get(), st.x1.bytes(), cudaMemcpyDeviceToDevice, compute_));
  mm(false, false, t_, h, f, st.g, f, w.w2, h, y, h, 1.f);
}

void GpuStage::block_backward_input(int bi, Stash& s) {
  const int h = spec_.hidden, f = spec_.ffn_hidden, kv = spec_.kv_heads * spec_.head_dim();
  BlockWeights& w = blocks_[bi];
  BlockStash& st = s.blocks[bi];
  const DeviceBuffer& x = s.h[bi];
  const DeviceBuffer& dy = s.dh[bi + 1];
  DeviceBuffer& dx = s.dh[bi];
  mm(false, true, t_, f, h, dy, h, w.w2, h, dg_, f);
  cuda::activation_backward(swiglu(), dg_.as<bf16>(), st.u.as<bf16>(), swiglu() ? st.up.as<bf16>() : nullptr,
                            st.du.as<bf16>(), swiglu() ? st.dup.as<bf16>() : nullptr, std::int64_t(t_) * f, compute_);
  mm(false, true, t_, h, f, st.du, f, w.w1, f, st.dn2, h);
  if (swiglu()) mm(false, true, t_, h, f, st.dup, f, w.w3, f, st.dn2, h, 1.f);
  cuda::norm_backward(ln(), st.dn2.as<bf16>(), st.x1.as<bf16>(), w.g2.as<float>(), st.mean2.as<float>(),
                      st.rstd2.as<float>(), dy.as<bf16>(), st.dx1.as<bf16>(), t_, h, compute_);
  mm(false, true, t_, h, h, st.dx1, h, w.wo, h, dattn_, h);
  attention_.backward(st.q.as<bf16>(), st.k.as<bf16>(), st.v.as<bf16>(), st.attn.as<bf16>(), dattn_.as<bf16>(),
                      st.lse.as<float>(), st.dq.as<bf16>(), st.dk.as<bf16>(), st.dv.as<bf16>(), compute_);
  mm(false, true, t_, h, h, st.dq, h, w.wq, h, st.dn1, h);
  mm(false, true, t_, h, kv, st.dk, kv, w.wk, kv, st.dn1, h, 1.f);
  mm(false, true, t_, h, kv, st.dv, kv, w.wv, kv, st.dn1, h, 1.f);
  cuda::norm_backward(ln(), st.dn1.as<bf16>(), x.as<bf16>(), w.g1.as<float>(), st.mean1.as<float>(),
                      st.rstd1.as<float>(), st.dx1.as<bf16>(), dx.as<bf16>(), t_, h, compute_);
}

void GpuStage::block_backward_weight(int bi, Stash& s) {
  const int h = spec_.hidden, f = spec_.ffn_hidden, kv = spec_.kv_heads * spec_.head_dim();
  BlockWeights& w = blocks_[bi];
  BlockStash& st = s.blocks[bi];
  mm(true, false, h, h, t_, st.n1, h, st.dq, h, w.gwq, h, 1.f);
  mm(true, false, h, kv, t_, st.n1, h, st.dk, kv, w.gwk, kv, 1.f);
  mm(true, false, h, kv, t_, st.n1, h, st.dv, kv, w.gwv, kv, 1.f);
  mm(true, false, h, h, t_, st.attn, h, st.dx1, h, w.gwo, h, 1.f);
  mm(true, false, h, f, t_, st.n2, h, st.du, f, w.gw1, f, 1.f);
  if (swiglu()) mm(true, false, h, f, t_, st.n2, h, st.dup, f, w.gw3, f, 1.f);
  mm(true, false, f, h, t_, st.g, f, s.dh[bi + 1], h, w.gw2, h, 1.f);
  cuda::norm_weight_grad(st.dn1.as<bf16>(), s.h[bi].as<bf16>(), st.mean1.as<float>(), st.rstd1.as<float>(),
                         w.gg1.as<float>(), ln() ? w.gb1.as<float>() : nullptr, t_, h, compute_);
  cuda::norm_weight_grad(st.dn2.as<bf16>(), st.x1.as<bf16>(), st.mean2.as<float>(), st.rstd2.as<float>(),
                         w.gg2.as<float>(), ln() ? w.gb2.as<float>() : nullptr, t_, h, compute_);
}

void GpuStage::forward(int m) {
  Stash& s = acquire(m);
  const int h = spec_.hidden, V = spec_.vocab;
  if (has_embedding_)
    cuda::embedding_forward(ids_.at(m).as<int>(), table_.as<bf16>(), s.h[0].as<bf16>(), t_, h, compute_);
  for (std::size_t b = 0; b < blocks_.size(); ++b) block_forward(static_cast<int>(b), s);
  if (has_head_) {
    const DeviceBuffer& x = s.h.back();
    cuda::norm_forward(ln(), x.as<bf16>(), gf_.as<float>(), bf_.as<float>(), s.nf.as<bf16>(), s.meanf.as<float>(),
                       s.rstdf.as<float>(), t_, h, compute_);
    mm(false, true, t_, V, h, s.nf, h, w_out_, h, s.logits, V);
    cuda::cross_entropy_forward(s.logits.as<bf16>(), targets_.at(m).as<int>(),
                                losses_.as<float>() + std::size_t(m) * t_, t_, V, compute_);
  }
}

void GpuStage::backward_input(int m) {
  Stash& s = stash(m);
  const int h = spec_.hidden, V = spec_.vocab;
  if (has_head_) {
    cuda::cross_entropy_backward(s.logits.as<bf16>(), targets_.at(m).as<int>(), t_, V, compute_);
    mm(false, false, t_, h, V, s.logits, V, w_out_, h, s.dnf, h);
    cuda::norm_backward(ln(), s.dnf.as<bf16>(), s.h.back().as<bf16>(), gf_.as<float>(), s.meanf.as<float>(),
                        s.rstdf.as<float>(), nullptr, s.dh.back().as<bf16>(), t_, h, compute_);
  }
  for (std::size_t b = blocks_.size(); b-- > 0;) block_backward_input(static_cast<int>(b), s);
  // The embedding's B has nothing to compute: its W scatters dh[0] into the table gradient.
}

void GpuStage::backward_weight(int m) {
  Stash& s = stash(m);
  const int h = spec_.hidden, V = spec_.vocab;
  if (has_head_) {
    mm(true, false, V, h, t_, s.logits, V, s.nf, h, gw_out_, h, 1.f);
    cuda::norm_weight_grad(s.dnf.as<bf16>(), s.h.back().as<bf16>(), s.meanf.as<float>(), s.rstdf.as<float>(),
                           ggf_.as<float>(), ln() ? gbf_.as<float>() : nullptr, t_, h, compute_);
  }
  for (std::size_t b = 0; b < blocks_.size(); ++b) block_backward_weight(static_cast<int>(b), s);
  if (has_embedding_)
    cuda::embedding_weight_grad(ids_.at(m).as<int>(), s.dh[0].as<bf16>(), gtable_.as<float>(), t_, h, compute_);
}

double GpuStage::loss(int m) const {
  if (!has_head_) throw std::logic_error("GPU stage: loss asked of a stage without the head");
  PPSIM_CUDA_CHECK(cudaStreamSynchronize(compute_));
  std::vector<float> h(t_);
  PPSIM_CUDA_CHECK(cudaMemcpy(h.data(), losses_.as<float>() + std::size_t(m) * t_, h.size() * sizeof(float),
                              cudaMemcpyDeviceToHost));
  double sum = 0;
  for (float v : h) sum += v;
  return sum / t_;
}

std::vector<std::string> GpuStage::gradient_names() const {
  std::vector<std::string> names;
  if (has_embedding_) names.push_back("embedding.table");
  for (std::size_t b = 0; b < blocks_.size(); ++b) {
    const std::string p = "block" + std::to_string(first_block_ + static_cast<int>(b)) + ".";
    for (const char* n : {"wq", "wk", "wv", "wo", "w1", "w2", "norm1.gain", "norm2.gain"}) names.push_back(p + n);
    if (swiglu()) names.push_back(p + "w3");
    if (ln()) names.push_back(p + "norm1.bias"), names.push_back(p + "norm2.bias");
  }
  if (has_head_) {
    names.push_back("head.w_out");
    names.push_back("head.norm.gain");
    if (ln()) names.push_back("head.norm.bias");
  }
  return names;
}

std::vector<float> GpuStage::gradient(const std::string& name) const {
  PPSIM_CUDA_CHECK(cudaStreamSynchronize(compute_));
  if (name == "embedding.table" && has_embedding_) return download_f32(gtable_);
  if (name == "head.w_out" && has_head_) return download_bf16(gw_out_);
  if (name == "head.norm.gain" && has_head_) return download_f32(ggf_);
  if (name == "head.norm.bias" && has_head_) return download_f32(gbf_);
  if (name.rfind("block", 0) == 0) {
    const auto dot = name.find('.');
    const int b = std::stoi(name.substr(5, dot - 5)) - first_block_;
    const std::string what = name.substr(dot + 1);
    if (b >= 0 && b < static_cast<int>(blocks_.size())) {
      const BlockWeights& w = blocks_[b];
      if (what == "wq") return download_bf16(w.gwq);
      if (what == "wk") return download_bf16(w.gwk);
      if (what == "wv") return download_bf16(w.gwv);
      if (what == "wo") return download_bf16(w.gwo);
      if (what == "w1") return download_bf16(w.gw1);
      if (what == "w2") return download_bf16(w.gw2);
      if (what == "w3" && swiglu()) return download_bf16(w.gw3);
      if (what == "norm1.gain") return download_f32(w.gg1);
      if (what == "norm2.gain") return download_f32(w.gg2);
      if (what == "norm1.bias") return download_f32(w.gb1);
      if (what == "norm2.bias") return download_f32(w.gb2);
    }
  }
  throw std::invalid_argument("GPU stage: no weight gradient '" + name + "' on this stage");
}

}  // namespace ppsim::gpu
