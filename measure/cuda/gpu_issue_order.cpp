// The per-rank issue order of the GPU pipeline runner (see gpu_pipeline_runner.h, "Communication
// order"). Pure host code: compiled with or without CUDA, so the tests check it everywhere.
#include <functional>
#include <queue>
#include <stdexcept>
#include <utility>

#include "measure/cuda/gpu_pipeline_runner.h"

namespace ppsim::gpu {

std::vector<OpId> global_issue_order(const Dag& dag) {
  const OpTable& t = *dag.table;
  const std::size_t n = t.ops.size();
  std::vector<InputCount> pending;
  in_degrees(dag, pending);
  std::vector<TimeNs> ready(n, 0);
  using Item = std::pair<TimeNs, OpId>;  // (as-soon-as-possible start, op id): smallest first
  std::priority_queue<Item, std::vector<Item>, std::greater<>> queue;
  for (OpId v = 0; v < n; ++v)
    if (pending[v] == 0) queue.push({0, v});
  std::vector<OpId> out;
  out.reserve(n);
  while (!queue.empty()) {
    const auto [start, v] = queue.top();
    queue.pop();
    out.push_back(v);
    const TimeNs end = start + t.ops[v].duration;
    dag.for_each_successor(v, [&](OpId w) {
      ready[w] = std::max(ready[w], end);
      if (--pending[w] == 0) queue.push({ready[w], w});
    });
  }
  if (out.size() != n) throw std::logic_error("GPU pipeline: the schedule's DAG has a cycle (run check_acyclic first)");
  return out;
}

std::vector<std::vector<OpId>> issue_order(const Dag& dag) { return issue_order(dag, global_issue_order(dag)); }

std::vector<std::vector<OpId>> issue_order(const Dag& dag, const std::vector<OpId>& global) {
  const OpTable& t = *dag.table;
  std::vector<std::vector<OpId>> out(t.ranks);
  for (OpId v : global) {
    const Op& op = t.ops[v];
    if (op.is_transfer) {
      const Resource& link = t.resources[op.resource];
      out[link.src].push_back(v);
      out[link.dst].push_back(v);
    } else {
      out[op.resource].push_back(v);
    }
  }
  return out;
}

}  // namespace ppsim::gpu
