#include "sim/longest_path.h"

#include <algorithm>
#include <boost/graph/topological_sort.hpp>
#include <iterator>

namespace ppsim {

TimeNs dag_longest_path(const Dag& dag) {
  const auto& g = dag.graph;
  const auto& ops = dag.table->ops;
  check_acyclic(dag);
  std::vector<OpId> order;
  order.reserve(ops.size());
  boost::topological_sort(g, std::back_inserter(order));  // reverse topological order
  std::vector<TimeNs> start(ops.size(), 0);  // earliest start: latest finish of the inputs
  TimeNs longest = 0;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const OpId v = *it;
    const TimeNs finish = start[v] + ops[v].duration;
    longest = std::max(longest, finish);
    for (auto e : boost::make_iterator_range(boost::out_edges(v, g))) {
      TimeNs& s = start[boost::target(e, g)];
      s = std::max(s, finish);
    }
  }
  return longest;
}

}  // namespace ppsim
