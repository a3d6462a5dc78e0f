#include "sim/longest_path.h"

#include <algorithm>
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/topological_sort.hpp>
#include <iterator>

namespace ppsim {

TimeNs dag_longest_path(const Dag& dag) {
  const auto& ops = dag.table->ops;
  check_acyclic(dag);
  // Its own copy of the whole graph, program order included, and Boost's topological sort: no
  // code shared with the engine's replay beyond the successor list.
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
  Graph g(ops.size());
  for (OpId v = 0; v < ops.size(); ++v) dag.for_each_successor(v, [&](OpId w) { boost::add_edge(v, w, g); });
  std::vector<std::size_t> order;
  order.reserve(ops.size());
  boost::topological_sort(g, std::back_inserter(order));  // reverse topological order
  std::vector<TimeNs> start(ops.size(), 0);  // earliest start: latest finish of the inputs
  TimeNs longest = 0;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const std::size_t v = *it;
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
