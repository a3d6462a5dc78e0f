#pragma once
// The CUDA backend of `ppsim calibrate` (compiled when nvcc exists; NOT YET RUN ON A GPU, see
// docs/calibration.md): layer passes from cuBLASLt GEMMs and the kernels of kernels.h timed with
// CUDA events, per-kernel numerics against the float64 reference, and an NCCL send/recv sweep.
#include <string>
#include <vector>

#include "calibrate/calibration.h"
#include "calibrate/profile.h"

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
std::vector<KernelCheck> check_kernels(int device, const ModelSpec& model);

// NCCL send/recv from gpus[0] to gpus[1] over sizes; throws CudaError on failure or after
// `timeout_s` without progress (the communicators are aborted, so a broken peer cannot hang us).
std::vector<TransferSample> nccl_send_recv_sweep(int gpu_a, int gpu_b, std::int64_t min_bytes, std::int64_t max_bytes,
                                                 int repeats, double timeout_s);

}  // namespace ppsim::cuda
