#include "measure/trace/traced_ops.h"

#include <algorithm>
#include <limits>
#include <set>
#include <tuple>
#include <unordered_map>

#include "measure/trace/detail/interval_set.h"

namespace ppsim::trace {
namespace {

// The innermost range of `list` (sorted by start) that holds time t; -1 when none. Nesting is
// shallow, so a short walk back from the last range starting before t finds it.
int innermost(const std::vector<std::uint32_t>& list, const std::vector<const HostRange*>& ranges, TimeNs t) {
  auto it = std::upper_bound(list.begin(), list.end(), t,
                             [&](TimeNs x, std::uint32_t i) { return x < ranges[i]->start; });
  for (int steps = 0; it != list.begin() && steps < 32; ++steps) {
    --it;
    if (ranges[*it]->end >= t) return static_cast<int>(*it);
  }
  return -1;
}

}  // namespace

RankOps find_rank_ops(const RankTrace& t, const StepWindow& w, const OpPatterns& patterns) {
  RankOps out;
  out.kernels_in_step = static_cast<std::int64_t>(w.gpu.size());
  // The annotation ranges of this step: units apart, the rest (ops, parts, sends, receives) apart.
  std::vector<const HostRange*> units, marks;
  for (const HostRange& r : t.ranges) {
    if (w.step >= 0 && (r.start < w.host_start || r.start > w.host_end)) continue;
    (patterns.patterns()[r.pattern].role == PatternRole::Unit ? units : marks).push_back(&r);
  }
  std::unordered_map<std::int64_t, std::vector<std::uint32_t>> marks_by_thread, units_by_thread;
  std::vector<std::uint32_t> all_marks;
  for (std::uint32_t i = 0; i < marks.size(); ++i) marks_by_thread[marks[i]->thread].push_back(i), all_marks.push_back(i);
  for (std::uint32_t i = 0; i < units.size(); ++i) units_by_thread[units[i]->thread].push_back(i);

  // Each GPU event of the step goes to the innermost range its launch happened in: on the launching
  // thread, or else on any thread (PyTorch's autograd engine launches a backward's kernels from its
  // own thread while the thread that opened the range waits).
  std::vector<std::vector<std::uint32_t>> kernels_of(marks.size());
  for (std::uint32_t g : w.gpu) {
    const HostCall* c = launch_of(t, t.gpu[g]);
    if (!c) continue;
    int m = -1;
    if (auto it = marks_by_thread.find(c->thread); it != marks_by_thread.end()) m = innermost(it->second, marks, c->start);
    if (m < 0) m = innermost(all_marks, marks, c->start);
    if (m < 0) continue;
    kernels_of[m].push_back(g);
    ++out.kernels_in_ops;
  }

  // Ops: one per op range (two for an overlapped one); parts merged by (unit, kind, stage, micro-batch).
  struct Building {
    TracedOp op;
    std::vector<std::uint32_t> kernels;
    int unit = -1;  // the unit range its parts came from
  };
  std::vector<Building> building;
  std::map<std::tuple<int, int, int, int>, std::size_t> part_op;  // (unit, kind, stage, mb) -> building index
  for (std::uint32_t m = 0; m < marks.size(); ++m) {
    const HostRange& r = *marks[m];
    const OpPattern& pattern = patterns.patterns()[r.pattern];
    const std::vector<OpName> names = patterns.decode(r.pattern, t.name_of(r.name));
    if (names.empty()) continue;
    ++out.ranges_by_origin[pattern.origin];
    if (pattern.role == PatternRole::Send || pattern.role == PatternRole::Recv) {
      TracedTransfer x;
      x.role = pattern.role;
      x.gradient = names[0].kind != ActionKind::F;
      x.stage = names[0].stage;
      x.microbatch = names[0].microbatch;
      TimeNs lo = std::numeric_limits<TimeNs>::max(), hi = std::numeric_limits<TimeNs>::min();
      for (std::uint32_t g : kernels_of[m]) {
        if (t.gpu[g].cls != GpuClass::P2P) continue;
        lo = std::min(lo, t.gpu[g].start);
        hi = std::max(hi, t.gpu[g].end);
      }
      if (lo <= hi) x.start = lo, x.end = hi, x.on_gpu = true;
      out.transfers.push_back(x);
      continue;
    }
    for (std::size_t k = 0; k < names.size(); ++k) {
      const OpName& n = names[k];
      std::size_t at = building.size();
      if (pattern.role == PatternRole::Part) {
        int unit = -1;
        if (auto u = units_by_thread.find(r.thread); u != units_by_thread.end()) unit = innermost(u->second, units, r.start);
        const auto key = std::make_tuple(unit, kind_index(n.kind), n.stage, n.microbatch);
        auto [it, added] = part_op.try_emplace(key, building.size());
        at = it->second;
        if (added) building.emplace_back().unit = unit;
        building[at].op.from_parts = true;
      } else {
        building.emplace_back();
      }
      Building& b = building[at];
      if (b.op.ranges == 0) {
        b.op.kind = n.kind;
        b.op.stage = n.stage;
        b.op.microbatch = n.microbatch;
        b.op.overlapped = names.size() > 1;
        b.op.host_start = r.start;
        b.op.origin = pattern.origin;
      }
      b.op.host_end = std::max(b.op.host_end, r.end);
      ++b.op.ranges;
      b.kernels.insert(b.kernels.end(), kernels_of[m].begin(), kernels_of[m].end());
    }
  }

  // A unit's ops are issued at the unit's start, forward first (an overlapped unit is its F, then
  // its backward), whatever order their parts took inside it.
  std::map<int, std::set<ActionKind>> kinds_in_unit;
  for (const Building& b : building)
    if (b.unit >= 0) kinds_in_unit[b.unit].insert(b.op.kind);
  for (Building& b : building) {
    if (b.unit < 0) continue;
    const auto& kinds = kinds_in_unit[b.unit];
    b.op.host_start = units[static_cast<std::size_t>(b.unit)]->start + kind_index(b.op.kind);
    b.op.overlapped = b.op.kind != ActionKind::W && kinds.count(ActionKind::F) > 0 &&
                      (kinds.count(ActionKind::B) > 0 || kinds.count(ActionKind::BW) > 0);
  }

  for (Building& b : building) {
    TracedOp& op = b.op;
    bool any_work = false;
    for (std::uint32_t g : b.kernels) any_work = any_work || (t.gpu[g].cls == GpuClass::Compute || t.gpu[g].cls == GpuClass::Memory);
    std::vector<std::pair<TimeNs, TimeNs>> work;
    for (std::uint32_t g : b.kernels) {
      const GpuEvent& e = t.gpu[g];
      const bool is_comm = e.cls == GpuClass::P2P || e.cls == GpuClass::Collective;
      if (any_work && is_comm) continue;
      work.emplace_back(e.start, e.end);
    }
    if (!work.empty()) {
      op.on_gpu = true;
      op.start = std::numeric_limits<TimeNs>::max();
      op.end = std::numeric_limits<TimeNs>::min();
      for (const auto& [a, z] : work) op.start = std::min(op.start, a), op.end = std::max(op.end, z);
      op.kernels = static_cast<std::int64_t>(work.size());
      op.kernel_ns = detail::IntervalSet(work).total();
    }
    for (std::uint32_t g : b.kernels) {  // its input's receive, when it was launched inside it
      const GpuEvent& e = t.gpu[g];
      if (e.cls != GpuClass::P2P || !op.on_gpu || e.end > op.start) continue;
      op.input_end = std::max(op.input_end, e.end);
      op.input_start = op.input_start < 0 ? e.start : std::min(op.input_start, e.start);
    }
    out.ops.push_back(op);
  }
  std::stable_sort(out.ops.begin(), out.ops.end(),
                   [](const TracedOp& a, const TracedOp& b) { return a.host_start < b.host_start; });
  return out;
}

}  // namespace ppsim::trace
