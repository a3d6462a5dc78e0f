#include "sim/stream/stream_timeline.h"

namespace ppsim {

Timeline stream_timeline(const StreamRun& run) {
  auto table = std::make_shared<OpTable>();
  const int P = run.stages;
  table->ranks = P;
  table->stages = P;
  table->microbatches = static_cast<int>(run.items());
  for (int k = 0; k < P; ++k) {
    table->rank_of_stage.push_back(k);
    Resource r;
    r.name = "stage " + std::to_string(k);
    r.rank = k;
    table->resources.push_back(r);
  }
  Timeline tl;
  tl.source = "simulated";
  auto add = [&](Op op, TimeNs s, TimeNs e) {
    table->ops.push_back(op);
    tl.start.push_back(s);
    tl.end.push_back(e);
  };
  for (int k = 0; k < P; ++k) {
    table->rank_begin.push_back(static_cast<OpId>(table->ops.size()));
    for (std::int64_t i = 0; i < run.items(); ++i) {
      const std::size_t x = run.at(i, k);
      if (run.start[x] < 0 || run.end[x] < 0) continue;
      Op op;
      op.duration = run.end[x] - run.start[x];
      op.resource = k;
      op.stage = k;
      op.microbatch = static_cast<std::int32_t>(i);
      add(op, run.start[x], run.end[x]);
    }
  }
  table->rank_begin.push_back(static_cast<OpId>(table->ops.size()));
  // Hops, on one link per pair of neighbouring stages (only where a hop takes time).
  for (int k = 0; k + 1 < P; ++k) {
    const int link = static_cast<int>(table->resources.size());
    bool used = false;
    for (std::int64_t i = 0; i < run.items(); ++i) {
      const TimeNs s = run.leave[run.at(i, k)], e = run.enter[run.at(i, k + 1)];
      if (s < 0 || e <= s) continue;
      Op op;
      op.duration = e - s;
      op.resource = link;
      op.stage = k;
      op.microbatch = static_cast<std::int32_t>(i);
      op.is_transfer = true;
      add(op, s, e);
      used = true;
    }
    if (used) {
      Resource r;
      r.name = "link " + std::to_string(k) + "->" + std::to_string(k + 1);
      r.src = k;
      r.dst = k + 1;
      table->resources.push_back(r);
    }
  }
  tl.table = std::move(table);
  return tl;
}

}  // namespace ppsim
