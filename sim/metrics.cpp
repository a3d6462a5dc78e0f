#include "sim/metrics.h"

#include <algorithm>
#include <cassert>

namespace ppsim {
namespace {

struct InFlight {
  int peak = 0;
  __int128 integral = 0;  // integral of N(t) dt over the run, in item-ns
  std::int64_t peak_bytes = 0;
};

// Sweeps sorted start and end instants of one rank's items. At equal instants ends go first: an
// item ending at t and one starting at t are never in flight together.
InFlight sweep(const std::vector<std::pair<TimeNs, std::int64_t>>& starts,
               const std::vector<std::pair<TimeNs, std::int64_t>>& ends) {
  InFlight f;
  std::size_t i = 0, j = 0;
  int n = 0;
  std::int64_t bytes = 0;
  TimeNs last = starts.empty() ? 0 : starts.front().first;
  while (i < starts.size() || j < ends.size()) {
    const bool take_end = j < ends.size() && (i == starts.size() || ends[j].first <= starts[i].first);
    const TimeNs t = take_end ? ends[j].first : starts[i].first;
    f.integral += static_cast<__int128>(n) * (t - last);
    last = t;
    if (take_end) {
      --n;
      bytes -= ends[j++].second;
    } else {
      ++n;
      bytes += starts[i++].second;
      f.peak = std::max(f.peak, n);
      f.peak_bytes = std::max(f.peak_bytes, bytes);
    }
  }
  return f;
}

// Step 1: the run's span, first op start to last op end: of the pipeline, and of the whole step.
void measure_span(const Timeline& tl, Metrics& m) {
  const OpTable& t = *tl.table;
  TimeNs t0 = tl.start[0], t1 = tl.end[0], step_end = tl.end[0];
  for (std::size_t v = 0; v < tl.start.size(); ++v) {
    t0 = std::min(t0, tl.start[v]);
    if (v < t.pipeline_ops()) t1 = std::max(t1, tl.end[v]);
    step_end = std::max(step_end, tl.end[v]);
  }
  m.start_ns = t0;
  m.makespan_ns = t1 - t0;
  m.iteration_ns = step_end - t0;
  m.has_training_step = t.step_ops > 0;
}

// Step 2: one rank's busy time, idle breakdown and in-flight micro-batch chunks (Little's law).
RankMetrics rank_metrics(const Timeline& tl, int r, const Metrics& m, const MetricsOptions& options,
                         MetricsBuffers& buffers) {
  std::vector<TimeNs>& item_start = buffers.item_start;
  const OpTable& t = *tl.table;
  const double T = static_cast<double>(m.makespan_ns);
  const bool have_bytes = !options.activation_bytes_per_stage.empty();
  RankMetrics rm;
  rm.rank = r;
  const OpId b = t.rank_begin[r], e = t.rank_begin[r + 1];
  if (b == e) {
    rm.idle_leading_ns = m.makespan_ns;
    rm.bubble_fraction = 1;
    return rm;
  }
  // The rank's items are (its stages) x (micro-batches): its stages are numbered as they appear.
  std::vector<int>& slot = buffers.stage_slot;
  std::vector<int>& stages_here = buffers.stages_here;
  stages_here.clear();
  item_start.clear();
  rm.first_start_ns = tl.start[b] - m.start_ns;
  rm.last_end_ns = tl.end[e - 1] - m.start_ns;
  std::vector<std::pair<TimeNs, std::int64_t>>& starts = buffers.starts;
  std::vector<std::pair<TimeNs, std::int64_t>>& ends = buffers.ends;
  starts.clear();
  ends.clear();
  starts.reserve(e - b);
  ends.reserve(e - b);
  __int128 residence = 0;
  TimeNs prev_end = tl.start[b];
  for (OpId v = b; v < e; ++v) {
    const Op& op = t.ops[v];
    rm.busy_ns += tl.end[v] - tl.start[v];
    const TimeNs gap = tl.start[v] - prev_end;
    if (gap > 0) {
      const OpId why = tl.cause.empty() ? kNoOp : tl.cause[v];
      if (why != kNoOp && t.ops[why].is_transfer)
        (t.ops[why].kind == ActionKind::F ? rm.idle_waiting_activation_ns : rm.idle_waiting_gradient_ns) += gap;
      else if (why != kNoOp && t.ops[why].step == StepKind::ParamGather)
        rm.idle_waiting_parameters_ns += gap;
      else
        rm.idle_other_ns += gap;
    }
    prev_end = std::max(prev_end, tl.end[v]);
    if (slot[op.stage] < 0) {
      slot[op.stage] = static_cast<int>(stages_here.size());
      stages_here.push_back(op.stage);
      item_start.resize(item_start.size() + static_cast<std::size_t>(t.microbatches), 0);
    }
    const std::size_t item = static_cast<std::size_t>(slot[op.stage]) * t.microbatches + op.microbatch;
    const std::int64_t bytes = have_bytes ? options.activation_bytes_per_stage[op.stage] : 0;
    if (op.kind == ActionKind::F) {
      item_start[item] = tl.start[v];
      starts.emplace_back(tl.start[v], bytes);
    } else if (op.kind == ActionKind::W || op.kind == ActionKind::BW) {  // last backward piece
      ends.emplace_back(tl.end[v], bytes);
      residence += tl.end[v] - item_start[item];
    }
  }
  for (int stage : stages_here) slot[stage] = -1;
  rm.span_ns = rm.last_end_ns - rm.first_start_ns;
  rm.idle_leading_ns = rm.first_start_ns;
  rm.idle_trailing_ns = m.makespan_ns - rm.last_end_ns;
  // One rounding only (idle / makespan), so balanced cases equal the closed forms exactly.
  rm.bubble_fraction = T > 0 ? static_cast<double>(m.makespan_ns - rm.busy_ns) / T : 0;
  if (!std::is_sorted(starts.begin(), starts.end())) std::sort(starts.begin(), starts.end());
  if (!std::is_sorted(ends.begin(), ends.end())) std::sort(ends.begin(), ends.end());
  const InFlight f = sweep(starts, ends);
  rm.items = static_cast<std::int64_t>(ends.size());
  rm.peak_in_flight = f.peak;
  rm.peak_activation_bytes = f.peak_bytes;
  rm.mean_in_flight = T > 0 ? static_cast<double>(f.integral) / T : 0;
  rm.arrival_rate_per_s = T > 0 ? static_cast<double>(rm.items) / (T * 1e-9) : 0;
  rm.mean_residence_ns = rm.items > 0 ? static_cast<double>(residence) / static_cast<double>(rm.items) : 0;
  return rm;
}

// Step 3: the whole run's bubble figures and throughput from the ranks'.
void summarize_ranks(const OpTable& t, Metrics& m) {
  const double T = static_cast<double>(m.makespan_ns);
  TimeNs total_busy = 0;
  for (const RankMetrics& rm : m.ranks) {
    total_busy += rm.busy_ns;
    m.largest_span_ns = std::max(m.largest_span_ns, rm.span_ns);
    m.largest_busy_ns = std::max(m.largest_busy_ns, rm.busy_ns);
  }
  const __int128 capacity = static_cast<__int128>(t.ranks) * m.makespan_ns;
  m.bubble_fraction = T > 0 ? static_cast<double>(capacity - total_busy) / static_cast<double>(capacity) : 0;
  m.bubble_rate_zb = m.largest_span_ns > 0
                         ? static_cast<double>(m.largest_span_ns - m.largest_busy_ns) / static_cast<double>(m.largest_span_ns)
                         : 0;
  m.throughput_microbatches_per_s = T > 0 ? t.microbatches / (T * 1e-9) : 0;
}

// Step 4: each directional link's transfers, busy time and queueing.
void link_metrics(const Timeline& tl, std::vector<LinkMetrics>& links, std::vector<int>& link_index) {
  const OpTable& t = *tl.table;
  links.clear();
  link_index.assign(t.resources.size(), -1);
  for (std::size_t r = 0; r < t.resources.size(); ++r) {
    if (!t.resources[r].is_link()) continue;
    link_index[r] = static_cast<int>(links.size());
    links.push_back({static_cast<int>(r), t.resources[r].src, t.resources[r].dst, 0, 0, 0});
  }
  for (OpId v = t.compute_ops(); v < t.pipeline_ops(); ++v) {
    const Op& op = t.ops[v];
    LinkMetrics& lm = links[link_index[op.resource]];
    ++lm.transfers;
    lm.busy_ns += tl.end[v] - tl.start[v];
    if (!tl.cause.empty() && tl.cause[v] != kNoOp && t.is_transfer(tl.cause[v]) &&
        t.ops[tl.cause[v]].resource == op.resource)
      ++lm.queued_transfers;
  }
}

// Step 5: from the last-ending op back through the ops that released each one (simulated runs).
void critical_path(const Timeline& tl, CriticalPath& path) {
  const OpTable& t = *tl.table;
  if (tl.cause.empty()) return;
  OpId v = 0;
  TimeNs latest = tl.end[0];  // kept in a register: re-reading end[v] made a loop-carried load
  for (OpId u = 1; u < t.ops.size(); ++u)
    if (tl.end[u] > latest) {
      latest = tl.end[u];
      v = u;
    }
  while (v != kNoOp) {
    path.ops.push_back(v);
    const TimeNs d = tl.end[v] - tl.start[v];
    (t.is_step(v) ? path.step_ns : t.ops[v].is_transfer ? path.transfer_ns : path.compute_ns) += d;
    v = tl.cause[v];
  }
  std::reverse(path.ops.begin(), path.ops.end());
}

// Step 6: the training step's ops per rank, and what of them the pipeline did not hide: the part
// of the last-ending rank's tail (after the pipeline's end) its optimizer covers is optimizer time,
// the rest data-parallel communication.
void training_step(const Timeline& tl, Metrics& m) {
  const OpTable& t = *tl.table;
  if (t.step_ops == 0) return;
  int last_rank = -1;
  OpId last_optimizer = kNoOp;
  for (OpId v = t.pipeline_ops(); v < t.ops.size(); ++v) {
    const Op& op = t.ops[v];
    const Resource& res = t.resources[op.resource];
    const int r = op.step == StepKind::Optimizer ? res.rank : res.data_parallel_of;
    RankMetrics& rm = m.ranks[r];
    (op.step == StepKind::Optimizer ? rm.optimizer_ns : rm.data_parallel_busy_ns) += tl.end[v] - tl.start[v];
    rm.step_end_ns = std::max(rm.step_end_ns, tl.end[v] - m.start_ns);
  }
  for (const RankMetrics& rm : m.ranks)
    if (last_rank < 0 || rm.step_end_ns > m.ranks[last_rank].step_end_ns) last_rank = rm.rank;
  for (OpId v = t.pipeline_ops(); v < t.ops.size(); ++v)
    if (t.ops[v].step == StepKind::Optimizer && t.resources[t.ops[v].resource].rank == last_rank) last_optimizer = v;
  const TimeNs pipeline_end = m.start_ns + m.makespan_ns, step_end = m.start_ns + m.iteration_ns;
  if (last_optimizer != kNoOp)
    m.exposed_optimizer_ns = std::max<TimeNs>(
        0, std::min(tl.end[last_optimizer], step_end) - std::max(tl.start[last_optimizer], pipeline_end));
  m.exposed_data_parallel_ns = m.iteration_ns - m.makespan_ns - m.exposed_optimizer_ns;
}

}  // namespace

void compute_metrics_into(const Timeline& tl, const MetricsOptions& options, Metrics& m, MetricsBuffers& buffers) {
  const OpTable& t = *tl.table;
  // Every figure back to its default, the vectors' memory kept.
  std::vector<RankMetrics> ranks = std::move(m.ranks);
  std::vector<LinkMetrics> links = std::move(m.links);
  std::vector<OpId> path = std::move(m.critical_path.ops);
  m = Metrics{};
  ranks.clear();
  path.clear();
  m.ranks = std::move(ranks);
  m.links = std::move(links);
  m.links.clear();
  m.critical_path.ops = std::move(path);
  if (t.ops.empty()) return;
  measure_span(tl, m);
  buffers.stage_slot.assign(t.stages, -1);
  for (int r = 0; r < t.ranks; ++r) m.ranks.push_back(rank_metrics(tl, r, m, options, buffers));
  summarize_ranks(t, m);
  link_metrics(tl, m.links, buffers.link_index);
  critical_path(tl, m.critical_path);
  training_step(tl, m);
}

Metrics compute_metrics(const Timeline& tl, const MetricsOptions& options) {
  Metrics m;
  MetricsBuffers buffers;
  compute_metrics_into(tl, options, m, buffers);
  return m;
}

}  // namespace ppsim
