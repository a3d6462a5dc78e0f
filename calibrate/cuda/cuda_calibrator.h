#pragma once
// The CUDA backend of `ppsim calibrate` (compiled when nvcc exists; NOT YET RUN ON A GPU, see
// docs/calibration.md): layer passes from cuBLASLt GEMMs, the fused attention of attention.h
// (cuDNN's or the in-house kernel) and the kernels of kernels.h timed with CUDA events,
// per-kernel numerics against the float64 reference, and an NCCL send/recv sweep.
#include <string>
#include <vector>

#include "calibrate/calibration.h"
#include "calibrate/cuda/attention.h"
#include "models/profile.h"
#include "calibrate/reference.h"

namespace ppsim::cuda {

// GPUs visible to the CUDA runtime; 0 with the reason when there is no driver or device.
int visible_device_count(std::string& why);

// Name, driver, runtime version and clocks of one device.
DeviceInfo device_info(int device);

Profile calibrate_cuda(const CalibrationOptions& options);

// Each kernel on small random inputs against calibrate/reference.h: name -> max relative error.
struct KernelCheck {
  std::string name;
  double max_relative_error = 0;
  double tolerance = 0;  // what bf16 allows for this kernel
};
// Runs before any timing in calibrate_cuda; a kernel outside tolerance stops the calibration.
// Includes check_attention of the `attention` kernel with the model's head dim and GQA group.
std::vector<KernelCheck> check_kernels(int device, const ModelSpec& model, AttentionKind attention);

// One fused attention kernel (attention.h: cuDNN's or the in-house one, never silently the other)
// on random bf16 inputs: forward O and backward dQ, dK, dV against the float64 reference
// (ref::causal_attention and attention_backward_reference). Throws when that kernel cannot run
// the shape (e.g. cuDNN missing).
std::vector<KernelCheck> check_attention(int device, int head_dim, int heads, int kv_heads, int seq, int batch,
                                         AttentionKind kind);

// float64, plain loops: the gradients of sum(dout ∘ ref::causal_attention(q, k, v, ...)) with
// respect to q, k and v (same layouts; GQA gradients summed over each group's query heads).
struct AttentionGrads {
  ref::RefMatrix dq, dk, dv;
};
AttentionGrads attention_backward_reference(const ref::RefMatrix& q, const ref::RefMatrix& k, const ref::RefMatrix& v,
                                            const ref::RefMatrix& dout, int heads, int kv_heads, int seq);

// NCCL send/recv from gpus[0] to gpus[1] over sizes; throws CudaError on failure or after
// `timeout_s` without progress (the communicators are aborted, so a broken peer cannot hang us).
std::vector<TransferSample> nccl_send_recv_sweep(int gpu_a, int gpu_b, std::int64_t min_bytes, std::int64_t max_bytes,
                                                 int repeats, double timeout_s);

}  // namespace ppsim::cuda
