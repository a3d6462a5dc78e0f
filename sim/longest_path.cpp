#include "sim/longest_path.h"

#include <algorithm>
#include <boost/graph/topological_sort.hpp>
#include <iterator>

namespace ppsim {

TimeNs dag_longest_path(const Dag& dag) {
  const auto& g = dag.graph;
  const auto& ops = dag.table->ops;
  std::vector<OpId> order;
  order.reserve(ops.size());
  boost::topological_sort(g, std::back_inserter(order));  // reverse topological order
  std::vector<TimeNs> finish(ops.size(), 0);              // earliest finish of each op
  TimeNs longest = 0;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const OpId v = *it;
    TimeNs start = 0;
    for (auto e : boost::make_iterator_range(boost::in_edges(v, g))) start = std::max(start, finish[boost::source(e, g)]);
    finish[v] = start + ops[v].duration;
    longest = std::max(longest, finish[v]);
  }
  return longest;
}

}  // namespace ppsim
