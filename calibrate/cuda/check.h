#pragma once
// Every CUDA, cuBLASLt and NCCL call goes through one of these: a failure throws
// ppsim::cuda::CudaError naming the call, the device and the source line.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <stdexcept>
#include <string>

#include "base/error.h"

namespace ppsim::cuda {

// A failed CUDA, cuBLASLt or NCCL call: a run that failed on the device (exit code kExitRunFailed).
class CudaError : public RunError {
 public:
  using RunError::RunError;
};

inline int current_device_or_minus_one() {
  int d = -1;
  if (cudaGetDevice(&d) != cudaSuccess) d = -1;
  return d;
}

[[noreturn]] inline void fail(const char* call, const std::string& why, const char* file, int line) {
  throw CudaError(std::string(call) + " failed on GPU " + std::to_string(current_device_or_minus_one()) + ": " + why +
                  " (" + file + ":" + std::to_string(line) + ")");
}

}  // namespace ppsim::cuda

#define PPSIM_CUDA_CHECK(call)                                                                      \
  do {                                                                                              \
    const cudaError_t ppsim_err_ = (call);                                                          \
    if (ppsim_err_ != cudaSuccess) ::ppsim::cuda::fail(#call, cudaGetErrorString(ppsim_err_), __FILE__, __LINE__); \
  } while (0)

#define PPSIM_CUBLAS_CHECK(call)                                                                    \
  do {                                                                                              \
    const cublasStatus_t ppsim_st_ = (call);                                                        \
    if (ppsim_st_ != CUBLAS_STATUS_SUCCESS)                                                         \
      ::ppsim::cuda::fail(#call, "cublas status " + std::to_string(static_cast<int>(ppsim_st_)), __FILE__, __LINE__); \
  } while (0)

// Kernel launches: the launch error now, execution errors at the next synchronising check.
#define PPSIM_LAUNCH_CHECK(what) PPSIM_CUDA_CHECK((cudaPeekAtLastError(), cudaGetLastError()))
