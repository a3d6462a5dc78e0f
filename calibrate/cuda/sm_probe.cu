// sm_ids_used (see sm_partitions.h): which SMs a stream's kernels actually run on. NOT YET RUN ON A GPU.
#include <algorithm>
#include <vector>

#include "calibrate/cuda/check.h"
#include "calibrate/cuda/sm_partitions.h"

namespace ppsim::cuda {
namespace {

__global__ void record_sm_id(int* out, long long spin_cycles) {
  unsigned int id;
  asm volatile("mov.u32 %0, %%smid;" : "=r"(id));
  // Hold the SM a little, so that blocks spread over every SM the stream may use.
  const long long until = clock64() + spin_cycles;
  while (clock64() < until) {
  }
  if (threadIdx.x == 0) out[blockIdx.x] = static_cast<int>(id);
}

}  // namespace

std::vector<int> sm_ids_used(CUstream_st* stream, int blocks) {
  int* d = nullptr;
  PPSIM_CUDA_CHECK(cudaMalloc(&d, sizeof(int) * static_cast<std::size_t>(blocks)));
  std::vector<int> ids(static_cast<std::size_t>(blocks), -1);
  try {
    record_sm_id<<<blocks, 32, 0, stream>>>(d, 200000);
    PPSIM_LAUNCH_CHECK("record_sm_id");
    PPSIM_CUDA_CHECK(cudaStreamSynchronize(stream));
    PPSIM_CUDA_CHECK(cudaMemcpy(ids.data(), d, sizeof(int) * ids.size(), cudaMemcpyDeviceToHost));
  } catch (...) {
    cudaFree(d);
    throw;
  }
  cudaFree(d);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace ppsim::cuda
