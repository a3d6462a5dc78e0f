#pragma once
// One virtual stage (model chunk) of a real model on one GPU, for `ppsim measure --device cuda`:
// its layers (the embedding on the first stage, a run of transformer blocks, the final norm + LM
// head + loss on the last) in bf16, with the CUDA calibration kernels (gemm.h, kernels.h, and the
// fused attention of attention.h: cuDNN's or the in-house one) doing exactly the passes
// calibrate/cuda/cuda_calibrator.cpp times, and one stash per micro-batch in flight. Internal to
// the GPU runner (uses CUDA types); NOT YET RUN ON A GPU.
//
// Buffers: weights bf16; weight gradients accumulate across micro-batches like the calibration
// kernels do: GEMM weight gradients in bf16 (cuBLASLt with beta = 1, fp32 arithmetic), norm and
// embedding gradients in fp32. Biases of linear layers are not modelled (as in calibration).
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "calibrate/cuda/attention.h"
#include "calibrate/cuda/gemm.h"
#include "calibrate/cuda/kernels.h"
#include "models/model_spec.h"

namespace ppsim::gpu {

using cuda::bf16;

// A device allocation on the current device, freed on destruction.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), bytes_(o.bytes_) { o.p_ = nullptr, o.bytes_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return p_; }
  std::size_t bytes() const { return bytes_; }
  template <class T>
  T* as() const { return static_cast<T*>(p_); }

 private:
  void* p_ = nullptr;
  std::size_t bytes_ = 0;
};

// What one micro-batch leaves behind between its F, B and W on one stage.
struct BlockStash {
  DeviceBuffer n1, q, k, v, attn, lse, x1, n2, u, up, g, mean1, rstd1, mean2, rstd2;  // forward (lse: the
                                                                                        // attention's row stats)
  DeviceBuffer dq, dk, dv, dx1, du, dup, dn1, dn2;                                     // backward input, for W
};
struct Stash {
  int microbatch = -1;
  std::vector<DeviceBuffer> h;   // h[0] = stage input (received, copied or embedded), h[b+1] = block b's output
  std::vector<DeviceBuffer> dh;  // dh[b] = gradient of h[b]; dh.back() is received (or from the head)
  std::vector<BlockStash> blocks;
  DeviceBuffer nf, meanf, rstdf, logits, dnf;  // head
  // Reuse guards: `released` is recorded on the compute stream when W frees the stash,
  // `comm_done` on the communication stream after each send out of it. Whoever takes the stash
  // next waits for both (a never-recorded event counts as complete).
  cudaEvent_t released = nullptr, comm_done = nullptr;
  bool released_recorded = false;  // by last_compute_use() since this micro-batch took the stash
  Stash() = default;
  Stash(const Stash&) = delete;
  Stash& operator=(const Stash&) = delete;
  ~Stash();
};

class GpuStage {
 public:
  // Allocates on the current device. Layer weights are seeded by their index in the model, so any
  // partition of the same model holds the same weights. `gemm` and `attention` are the rank's,
  // shared by its stages (their passes run one at a time on the rank's compute stream).
  GpuStage(const ModelSpec& spec, int micro_batch_size, int sequence_length, int first_block, int blocks,
           bool has_embedding, bool has_head, int microbatches, std::uint64_t seed, cuda::Gemm& gemm,
           cuda::FusedAttention& attention, cudaStream_t compute, cudaStream_t comm);

  // Token ids and targets of every micro-batch, uploaded once (embedding / head stage only).
  void set_inputs(const std::vector<std::vector<int>>& ids, const std::vector<std::vector<int>>& targets);

  // The micro-batch's stash, taken from the pool (or allocated) on first use; the streams wait
  // until its previous user is done with it.
  Stash& acquire(int microbatch);
  Stash& stash(int microbatch);  // must be live
  // After W (the stash's last reader on the compute stream): records `released` there now, so that
  // the stash's next user waits for W only, not for compute issued between W and release().
  void last_compute_use(int microbatch);
  void release(int microbatch);  // back to the pool (guarded by `released`; recorded now if not yet)
  void reserve(int stashes);     // pre-allocates the pool

  // F, B, W on the compute stream. F reads h[0] (or embeds), leaves the output in h.back();
  // B reads dh.back() (or computes it from the loss) and leaves the input gradient in dh[0].
  void forward(int microbatch);
  void backward_input(int microbatch);
  void backward_weight(int microbatch);

  void zero_grads();  // on the compute stream; also clears the losses
  bool has_head() const { return has_head_; }
  bool has_embedding() const { return has_embedding_; }
  std::size_t activation_bytes() const;  // one [tokens, hidden] bf16 tensor

  // Host copies (synchronising): the mean loss of a micro-batch (head stage), and every weight
  // gradient by name ("block3.wq", "embedding.table", "head.w_out", ...) as float.
  double loss(int microbatch) const;
  std::vector<std::string> gradient_names() const;
  std::vector<float> gradient(const std::string& name) const;

 private:
  struct BlockWeights {
    DeviceBuffer wq, wk, wv, wo, w1, w2, w3, g1, b1, g2, b2;         // bf16 matrices, fp32 norms
    DeviceBuffer gwq, gwk, gwv, gwo, gw1, gw2, gw3, gg1, gb1, gg2, gb2;  // gradients (bf16 / fp32)
  };
  std::unique_ptr<Stash> make_stash() const;
  void block_forward(int b, Stash& s);
  void block_backward_input(int b, Stash& s);
  void block_backward_weight(int b, Stash& s);
  void mm(bool ta, bool tb, int m, int n, int k, const DeviceBuffer& a, int lda, const DeviceBuffer& b, int ldb,
          DeviceBuffer& c, int ldc, float beta = 0.f);
  bool swiglu() const { return spec_.activation == Activation::SwiGlu; }
  bool ln() const { return spec_.norm == Norm::LayerNorm; }

  ModelSpec spec_;
  int mb_, seq_, t_, first_block_, microbatches_;
  bool has_embedding_, has_head_;
  cuda::Gemm& gemm_;
  cuda::FusedAttention& attention_;
  cudaStream_t compute_, comm_;
  std::vector<BlockWeights> blocks_;
  DeviceBuffer table_, gtable_;                                  // embedding
  DeviceBuffer gf_, bf_, w_out_, ggf_, gbf_, gw_out_, losses_;   // head; losses_ = [M, tokens] fp32
  std::vector<DeviceBuffer> ids_, targets_;                      // per micro-batch
  DeviceBuffer dg_, dattn_;                                      // B scratch (one B at a time per stream)
  std::vector<std::unique_ptr<Stash>> pool_;
  std::map<int, std::unique_ptr<Stash>> live_;
};

}  // namespace ppsim::gpu
