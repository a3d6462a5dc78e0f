#include "measure/trace/step_window.h"

#include <algorithm>
#include <set>

#include "base/error.h"

namespace ppsim::trace {

const HostCall* launch_of(const RankTrace& t, const GpuEvent& e) {
  if (e.correlation < 0) return nullptr;
  auto it = std::lower_bound(t.calls.begin(), t.calls.end(), e.correlation,
                             [](const HostCall& c, std::int64_t id) { return c.correlation < id; });
  return it != t.calls.end() && it->correlation == e.correlation ? &*it : nullptr;
}

std::int64_t choose_step(const std::vector<RankTrace>& ranks, std::optional<std::int64_t> requested) {
  std::set<std::int64_t> common;
  bool first = true;
  for (const RankTrace& t : ranks) {
    std::set<std::int64_t> mine;
    for (const HostRange& s : t.steps) mine.insert(s.step);
    if (mine.empty()) {
      if (requested) throw InputError(t.path + ": --step " + std::to_string(*requested) + ": this trace has no ProfilerStep ranges");
      return -1;
    }
    if (first) common = mine;
    else {
      std::set<std::int64_t> both;
      std::set_intersection(common.begin(), common.end(), mine.begin(), mine.end(), std::inserter(both, both.end()));
      common.swap(both);
    }
    first = false;
    if (requested && !mine.count(*requested)) {
      std::string have;
      for (std::int64_t s : mine) have += (have.empty() ? "" : ", ") + std::to_string(s);
      throw InputError(t.path + ": --step " + std::to_string(*requested) + ": this trace has ProfilerStep#" + have + " only");
    }
  }
  if (requested) return *requested;
  if (common.empty()) throw InputError("the traces share no ProfilerStep#N: pick one with --step N, or trace the same steps on every rank");
  return *common.rbegin();
}

StepWindow step_window(const RankTrace& t, std::int64_t step) {
  StepWindow w;
  w.step = step;
  if (step < 0) {
    w.host_start = t.gpu.empty() ? 0 : t.gpu.front().start;
    w.host_end = w.host_start;
    for (const GpuEvent& e : t.gpu) w.host_end = std::max(w.host_end, e.end);
    for (const HostCall& c : t.calls) w.host_start = std::min(w.host_start, c.start);
    for (std::uint32_t i = 0; i < t.gpu.size(); ++i) w.gpu.push_back(i);
    return w;
  }
  for (const HostRange& s : t.steps)
    if (s.step == step) {
      w.host_start = s.start;
      w.host_end = s.end;
      break;
    }
  for (std::uint32_t i = 0; i < t.gpu.size(); ++i) {
    const GpuEvent& e = t.gpu[i];
    const HostCall* c = launch_of(t, e);
    const TimeNs at = c ? c->start : e.start;
    if (at >= w.host_start && at <= w.host_end) w.gpu.push_back(i);
  }
  return w;
}

}  // namespace ppsim::trace
