#pragma once
// How a pipeline sits inside a 3D-parallel job (issue 12): tensor parallelism splits every layer
// over t GPUs (Megatron's column/row split), sequence parallelism also splits the norms and
// dropouts along the sequence, data parallelism runs d pipeline replicas, and ZeRO shards the
// optimizer state (1), gradients (2) and parameters (3) over those replicas. Formulas and their
// sources: docs/cost-model.md.
#include <cstdint>
#include <string>
#include <vector>

#include "models/hardware.h"

namespace ppsim {

// The order in which the dimensions are laid over the GPUs, innermost first: GPU id =
// tensor + t * (next + ... ). The default puts tensor parallelism inside a node, then pipeline,
// then data outermost, as users do.
enum class ParallelDim { Tensor, Pipeline, Data };

struct Parallelism {
  int tensor = 1;            // t
  bool sequence = false;     // Megatron sequence parallelism (t > 1)
  int data = 1;              // d
  int zero = 0;              // 0 none, 1 optimizer state, 2 + gradients, 3 + parameters (over d)
  bool grad_reduce_overlap = true;  // data-parallel reduction overlaps the remaining backward (buckets)
  std::vector<ParallelDim> placement = {ParallelDim::Tensor, ParallelDim::Pipeline, ParallelDim::Data};

  // The GPU index of tensor rank i, pipeline rank p, replica d, with P pipeline ranks.
  int gpu(int i, int p, int d, int pipeline_ranks) const;
};

// Which link a group of GPUs talks over: within one node, or across nodes.
enum class CollectiveLink { IntraNode, InterNode };

// The link of the ring of `members` GPUs (the slowest hop: across nodes if any two members sit on
// different nodes of gpus_per_node GPUs).
CollectiveLink link_of_group(const std::vector<int>& members, int gpus_per_node);

// NCCL's collectives under the α-β model of one link (latency α, per-direction bandwidth β per
// GPU), n GPUs, a tensor of `bytes` (the whole tensor, before sharding). All-reduce takes the
// faster of a ring (2(n-1) steps of bytes/n) and a double binary tree (2 log2 n steps of the whole
// message, pipelined), as NCCL's tuner picks by size; reduce-scatter and all-gather are rings.
double allreduce_seconds(double bytes, int n, double alpha_s, double beta_bytes_per_s);
double reduce_scatter_seconds(double bytes, int n, double alpha_s, double beta_bytes_per_s);
double all_gather_seconds(double bytes, int n, double alpha_s, double beta_bytes_per_s);

}  // namespace ppsim
