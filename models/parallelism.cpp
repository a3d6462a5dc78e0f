#include "models/parallelism.h"

#include <algorithm>
#include <cmath>

namespace ppsim {

int Parallelism::gpu(int i, int p, int d, int pipeline_ranks) const {
  int id = 0, stride = 1;
  for (ParallelDim dim : placement) {
    const int coordinate = dim == ParallelDim::Tensor ? i : dim == ParallelDim::Pipeline ? p : d;
    const int size = dim == ParallelDim::Tensor ? tensor : dim == ParallelDim::Pipeline ? pipeline_ranks : data;
    id += coordinate * stride;
    stride *= size;
  }
  return id;
}

CollectiveLink link_of_group(const std::vector<int>& members, int gpus_per_node) {
  for (int g : members)
    if (g / gpus_per_node != members.front() / gpus_per_node) return CollectiveLink::InterNode;
  return CollectiveLink::IntraNode;
}

double allreduce_seconds(double bytes, int n, double alpha, double beta) {
  if (n <= 1 || bytes <= 0) return 0;
  const double ring = 2.0 * (n - 1) * alpha + 2.0 * (n - 1) / n * bytes / beta;
  const double tree = 2.0 * std::ceil(std::log2(n)) * alpha + 2.0 * bytes / beta;
  return std::min(ring, tree);
}

double reduce_scatter_seconds(double bytes, int n, double alpha, double beta) {
  if (n <= 1 || bytes <= 0) return 0;
  return (n - 1) * alpha + (n - 1.0) / n * bytes / beta;
}

double all_gather_seconds(double bytes, int n, double alpha, double beta) {
  return reduce_scatter_seconds(bytes, n, alpha, beta);
}

}  // namespace ppsim
