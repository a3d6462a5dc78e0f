// sm_partition_size (see sm_partitions.h): pure arithmetic, compiled with or without CUDA.
#include <algorithm>

#include "calibrate/cuda/sm_partitions.h"

namespace ppsim::cuda {

int sm_partition_size(int total_sms, int min_partition, int alignment, int count) {
  if (total_sms <= 0 || count <= 0) return 0;
  alignment = std::max(1, alignment);
  const int size = (total_sms / count) / alignment * alignment;
  return size >= std::max(1, min_partition) ? size : 0;
}

}  // namespace ppsim::cuda
