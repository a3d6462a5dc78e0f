#include "calibrate/backends.h"

#include "base/error.h"

#ifdef PPSIM_WITH_CUDA
#include "calibrate/cuda/cuda_calibrator.h"
#endif

namespace ppsim {

bool cuda_backend_built() {
#ifdef PPSIM_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int visible_gpu_count(std::string& why) {
#ifdef PPSIM_WITH_CUDA
  return cuda::visible_device_count(why);
#else
  why = "this ppsim was built without CUDA (nvcc was not found)";
  return 0;
#endif
}

Profile calibrate_cuda_backend(const CalibrationOptions& options) {
#ifdef PPSIM_WITH_CUDA
  return cuda::calibrate_cuda(options);
#else
  (void)options;
  throw InputError("--device cuda: this ppsim was built without CUDA (nvcc was not found at configure time)");
#endif
}

}  // namespace ppsim
