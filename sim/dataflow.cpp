#include "sim/dataflow.h"

#include <algorithm>

namespace ppsim {

Dataflow::Dataflow(const Dag& dag) {
  const OpTable& t = *dag.table;
  const auto& g = dag.graph;
  compute_ops_ = t.compute_ops();
  of_transfer_.assign(t.pipeline_ops() - compute_ops_, 0);
  // Producer by producer (edge order), so by_producer_ is already grouped.
  output_begin_.assign(compute_ops_ + 1, 0);
  for (OpId u = 0; u < compute_ops_; ++u) {
    output_begin_[u] = static_cast<std::uint32_t>(by_producer_.size());
    for (auto e : boost::make_iterator_range(boost::out_edges(u, g))) {
      const EdgeKind kind = edge_kind(t, u, boost::target(e, g));
      if (kind == EdgeKind::Stash || kind == EdgeKind::Join || kind == EdgeKind::Step) continue;
      Handoff h;
      h.producer = u;
      h.payload = kind == EdgeKind::Activation ? Payload::Activation : Payload::Gradient;
      const OpId w = boost::target(e, g);
      if (t.ops[w].is_transfer) {
        h.transfer = w;
        for (auto x : boost::make_iterator_range(boost::out_edges(w, g)))  // the one consumer (not a join)
          if (edge_kind(t, w, boost::target(x, g)) != EdgeKind::Join) h.consumer = boost::target(x, g);
        of_transfer_[w - compute_ops_] = static_cast<std::uint32_t>(by_producer_.size());
      } else {
        h.consumer = w;
      }
      by_producer_.push_back(h);
    }
  }
  output_begin_[compute_ops_] = static_cast<std::uint32_t>(by_producer_.size());
  // The same hand-offs grouped by consumer (a stable counting sort keeps edge order).
  input_begin_.assign(compute_ops_ + 1, 0);
  for (const Handoff& h : by_producer_) ++input_begin_[h.consumer + 1];
  for (OpId v = 0; v < compute_ops_; ++v) input_begin_[v + 1] += input_begin_[v];
  by_consumer_.resize(by_producer_.size());
  std::vector<std::uint32_t> fill(input_begin_.begin(), input_begin_.end() - 1);
  for (const Handoff& h : by_producer_) by_consumer_[fill[h.consumer]++] = h;
}

}  // namespace ppsim
