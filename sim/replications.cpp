#include "sim/replications.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "sim/engine.h"

namespace ppsim {
namespace {

// The pipeline's makespan (first op start to last compute or transfer end), and the critical path
// back from the last-ending op through each op's cause.
struct Replay {
  TimeNs makespan = 0;
  std::vector<OpId> path;
};

// A replay's timeline and working memory, reused from one replication to the next.
struct ReplayMemory {
  Timeline timeline;
  ReplayBuffers buffers;
};

Replay replay(const Dag& dag, std::span<const TimeNs> durations, ReplayMemory& memory) {
  simulate_into(dag, durations, memory.timeline, memory.buffers);
  const Timeline& tl = memory.timeline;
  const OpTable& t = *dag.table;
  Replay r;
  OpId last = 0;
  TimeNs first = tl.start.empty() ? 0 : tl.start[0];
  for (OpId v = 0; v < t.pipeline_ops(); ++v) {
    first = std::min(first, tl.start[v]);
    if (tl.end[v] > tl.end[last]) last = v;
  }
  r.makespan = t.pipeline_ops() > 0 ? tl.end[last] - first : 0;
  for (OpId v = last; v != kNoOp; v = tl.cause[v]) r.path.push_back(v);
  return r;
}

// Integer sums per worker; merged in worker order (integers: the order does not matter).
struct Partial {
  std::vector<std::int64_t> op_excess;
};

Spread spread_of(TimeNs p10, TimeNs median, TimeNs p90) {
  if (median <= 0) return {};
  return {static_cast<double>(p10) / static_cast<double>(median), static_cast<double>(p90) / static_cast<double>(median)};
}

}  // namespace

std::array<Spread, 4> profile_spreads(const Profile& p) {
  const Timing &f = p.block.forward, &b = p.block.backward_input, &w = p.block.backward_weight;
  std::array<Spread, 4> s;
  s[static_cast<int>(ActionKind::F)] = spread_of(f.p10_ns, f.median_ns, f.p90_ns);
  s[static_cast<int>(ActionKind::B)] = spread_of(b.p10_ns, b.median_ns, b.p90_ns);
  s[static_cast<int>(ActionKind::W)] = spread_of(w.p10_ns, w.median_ns, w.p90_ns);
  s[static_cast<int>(ActionKind::BW)] = spread_of(b.p10_ns + w.p10_ns, b.median_ns + w.median_ns, b.p90_ns + w.p90_ns);
  return s;
}

ReplicationResult run_replications(const Dag& dag, const ReplicationSpec& spec, int threads) {
  const OpTable& t = *dag.table;
  const std::size_t n = t.ops.size();
  std::vector<TimeNs> nominal(n);
  for (std::size_t v = 0; v < n; ++v) nominal[v] = t.ops[v].duration;
  std::vector<TimeNs> mean = nominal;  // the straggler's times are the means jitter draws around
  if (spec.straggler)
    for (OpId v = 0; v < t.compute_ops(); ++v)
      if (t.ops[v].resource == spec.straggler->rank)
        mean[v] = static_cast<TimeNs>(std::llround(static_cast<double>(nominal[v]) * spec.straggler->slowdown));

  ReplicationResult res;
  {
    ReplayMemory memory;
    res.deterministic_makespan = replay(dag, nominal, memory).makespan;
  }
  const int R = spec.replications;
  res.makespans.assign(R, 0);
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = std::min(threads, R);
  std::vector<Partial> partial(threads);
  auto work = [&](int w) {
    std::vector<TimeNs> drawn(n);
    ReplayMemory memory;
    Partial& p = partial[w];
    p.op_excess.assign(n, 0);
    for (int r = w; r < R; r += threads) {
      OpTimeSampler sampler(spec.jitter, spec.seed, static_cast<std::uint64_t>(r));
      for (std::size_t v = 0; v < n; ++v)
        drawn[v] = v < t.compute_ops() ? sampler.draw(mean[v], spec.kind_spread[static_cast<int>(t.ops[v].kind)]) : mean[v];
      const Replay rep = replay(dag, drawn, memory);
      res.makespans[r] = rep.makespan;
      for (OpId v : rep.path) p.op_excess[v] += drawn[v] - nominal[v];
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < threads; ++w) pool.emplace_back(work, w);
  work(0);
  for (std::thread& th : pool) th.join();

  std::vector<std::int64_t> excess(n, 0);
  for (const Partial& p : partial)
    for (std::size_t v = 0; v < n; ++v) excess[v] += p.op_excess[v];
  res.op_excess_ns.resize(n);
  res.rank_excess_ns.assign(t.ranks, 0.0);
  std::int64_t link = 0;
  std::vector<std::int64_t> rank(t.ranks, 0);
  for (std::size_t v = 0; v < n; ++v) {
    res.op_excess_ns[v] = static_cast<double>(excess[v]) / R;
    if (v < t.compute_ops()) rank[t.ops[v].resource] += excess[v];
    else if (!t.is_step(static_cast<OpId>(v))) link += excess[v];
  }
  for (int r = 0; r < t.ranks; ++r) res.rank_excess_ns[r] = static_cast<double>(rank[r]) / R;
  res.link_excess_ns = static_cast<double>(link) / R;

  std::vector<TimeNs> sorted = res.makespans;
  std::sort(sorted.begin(), sorted.end());
  std::int64_t sum = 0;
  for (TimeNs m : sorted) sum += m;
  res.mean_ns = static_cast<double>(sum) / R;
  auto rank_q = [&](double q) {
    const auto k = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(q * R)), 1, R);
    return sorted[k - 1];
  };
  res.p50 = rank_q(0.5);
  res.p99 = rank_q(0.99);
  res.max = sorted.back();
  return res;
}

}  // namespace ppsim
