#pragma once
// Equal partitions of one GPU's SMs (CUDA green contexts), so that several pipeline ranks can run
// on one GPU, each on its own SMs: `ppsim measure --device cuda --share-gpu` and `ppsim calibrate
// --device cuda --sms N`. The green-context entry points are resolved from the driver at run time
// (cudaGetDriverEntryPointByVersion), never linked, so the binary still starts without a driver
// and an old driver gives a clear error instead of a missing symbol. NOT YET RUN ON A GPU.
//
// Plain C++ header (no CUDA includes): the arithmetic below is tested on machines without CUDA.
#include <memory>
#include <string>
#include <vector>

struct CUstream_st;  // = cudaStream_t / CUstream

namespace ppsim::cuda {

// The SMs each of `count` equal partitions gets: the largest multiple of `alignment` that is at
// least `min_partition` and fits `count` times into `total_sms`; 0 when none does. (The driver
// reports the minimum partition size and the co-scheduling alignment: 8 and 8 on Hopper; an H100
// SXM's 132 SMs give 2 ranks 64 SMs each, 4 ranks 32, 8 ranks 16.)
int sm_partition_size(int total_sms, int min_partition, int alignment, int count);

class SmPartitions {
 public:
  // Splits `device`'s SMs into `count` partitions of `sms` SMs each (0: the largest equal size the
  // driver can make, from sm_partition_size down). Throws InputError when the split is impossible (naming the device's SM
  // count and granularity) and CudaError when the driver lacks green contexts or a call fails.
  SmPartitions(int device, int count, int sms = 0);
  ~SmPartitions();
  SmPartitions(const SmPartitions&) = delete;
  SmPartitions& operator=(const SmPartitions&) = delete;

  int device() const;
  int count() const;
  int sms_per_partition() const;  // what the driver actually gave (the smallest partition)
  int device_sms() const;         // the whole GPU's SMs

  // A new non-blocking stream whose kernels run on partition `i`'s SMs only; owned (destroyed
  // with the partitions).
  CUstream_st* create_stream(int i);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The distinct SM ids (%smid) that `blocks` short blocks launched on `stream` ran on: checks that a
// partition's work stays on its SMs.
std::vector<int> sm_ids_used(CUstream_st* stream, int blocks);

}  // namespace ppsim::cuda
