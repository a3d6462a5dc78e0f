// Built when NCCL is not found: the sweep says so instead of measuring.
#include "calibrate/cuda/check.h"
#include "calibrate/cuda/cuda_calibrator.h"

namespace ppsim::cuda {

std::vector<TransferSample> nccl_send_recv_sweep(int, int, std::int64_t, std::int64_t, int, double) {
  throw CudaError("this ppsim was built without NCCL: GPU transfers cannot be measured");
}

}  // namespace ppsim::cuda
