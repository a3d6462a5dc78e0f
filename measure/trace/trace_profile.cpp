#include "measure/trace/trace_profile.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "base/error.h"
#include "base/version.h"
#include "calibrate/calibration.h"
#include "models/model_loader.h"
#include "sim/dataflow.h"

namespace ppsim::trace {
namespace {

Timing timing_of(std::vector<TimeNs> samples) {
  if (samples.empty()) return {};
  return summarize(std::move(samples), 0.0);
}

Timing exactly(TimeNs t) { return Timing{t, t, t, 0, 0, t}; }

}  // namespace

StageTimesProfile stage_times_of(const TracedRun& run, const std::vector<RankOps>& ops, const Partition& partition,
                                 const std::vector<double>& b_share, const std::string& source) {
  const OpTable& t = *run.dag.table;
  const Timeline& tl = run.timeline;
  const int per_copy = partition.virtual_stages();
  StageTimesProfile st;
  st.source = source;
  st.layers_per_stage = partition.layers_per_stage;
  st.embedding_stage = partition.embedding_stage;
  st.head_stage = partition.head_stage;
  std::vector<std::vector<TimeNs>> f(per_copy), b(per_copy), w(per_copy);
  bool fused = false;
  for (OpId v = 0; v < t.compute_ops(); ++v) {
    const Op& o = t.ops[v];
    const auto [r, k] = run.traced_of[v];
    const TracedOp& traced = ops[static_cast<std::size_t>(r)].ops[static_cast<std::size_t>(k)];
    // Ops that shared the GPU with others (an overlapped unit, parts interleaved with other parts)
    // count their own kernels' busy time; the others their span.
    const TimeNs span = traced.overlapped || traced.from_parts ? traced.kernel_ns : traced.end - traced.start;
    const int s = o.stage % per_copy;  // a second model copy's stage times count for the first's
    switch (o.kind) {
      case ActionKind::F: f[s].push_back(span); break;
      case ActionKind::B: b[s].push_back(span); break;
      case ActionKind::W: w[s].push_back(span); break;
      case ActionKind::BW: {
        fused = true;
        const double share = b_share.empty() ? 1.0 : b_share[static_cast<std::size_t>(s)];
        const TimeNs input = static_cast<TimeNs>(std::llround(static_cast<double>(span) * share));
        b[s].push_back(input);
        w[s].push_back(span - input);
        break;
      }
    }
  }
  st.backward_split = fused && !b_share.empty() ? "flops" : "measured";
  for (int s = 0; s < per_copy; ++s) {
    StageTiming x;
    x.forward = timing_of(f[s]);
    x.backward_input = timing_of(b[s]);
    x.backward_weight = timing_of(w[s]);
    x.samples = static_cast<std::int64_t>(f[s].size());
    st.stages.push_back(x);
  }
  // Hops: transfers whose receive was seen, per boundary (the activation s -> s+1 and the gradient
  // s+1 -> s cross the same boundary s).
  const Dataflow flow(run.dag);
  std::vector<std::vector<TimeNs>> hops(per_copy > 0 ? per_copy - 1 : 0);
  for (OpId u = t.compute_ops(); u < t.ops.size(); ++u) {
    if (!run.transfer_measured[u - t.compute_ops()]) continue;
    const Handoff& h = flow.carried_by(u);
    const int a = t.ops[h.producer].stage % per_copy, z = t.ops[h.consumer].stage % per_copy;
    const int boundary = std::min(a, z);
    if (std::abs(a - z) != 1) continue;
    hops[static_cast<std::size_t>(boundary)].push_back(tl.end[u] - tl.start[u]);
  }
  for (std::size_t bnd = 0; bnd < hops.size(); ++bnd) {
    if (hops[bnd].empty()) continue;
    const Timing h = timing_of(hops[bnd]);
    st.hops.push_back({static_cast<int>(bnd), h.median_ns, static_cast<std::int64_t>(hops[bnd].size())});
  }
  return st;
}

std::vector<TimeNs> overlapped_unit_times(const TracedRun& run) {
  const OpTable& t = *run.dag.table;
  std::vector<TimeNs> sum(static_cast<std::size_t>(t.ranks), 0);
  std::vector<std::int64_t> n(static_cast<std::size_t>(t.ranks), 0);
  bool any = false;
  for (OpId v = 0; v < t.compute_ops(); ++v) {
    if (!t.ops[v].overlapped) continue;
    sum[static_cast<std::size_t>(t.ops[v].resource)] += run.timeline.end[v] - run.timeline.start[v];
    ++n[static_cast<std::size_t>(t.ops[v].resource)];
    any = true;
  }
  if (!any) return {};
  std::vector<TimeNs> mean(sum.size(), 0);
  for (std::size_t r = 0; r < sum.size(); ++r) mean[r] = n[r] > 0 ? sum[r] / n[r] : 0;
  return mean;
}

OpCosts op_costs_of(const StageTimesProfile& st, const Schedule& schedule, const std::vector<TimeNs>& overlap_f_b) {
  const int S = schedule.stages();
  const int per_copy = static_cast<int>(st.stages.size());
  OpCosts c;
  for (int s = 0; s < S; ++s) {
    const StageTiming& x = st.stages[static_cast<std::size_t>(s % per_copy)];
    c.forward.push_back(pick_time(x.forward, ProfileStatistic::Mean));
    c.backward_input.push_back(pick_time(x.backward_input, ProfileStatistic::Mean));
    c.backward_weight.push_back(pick_time(x.backward_weight, ProfileStatistic::Mean));
  }
  c.forward_transfer.assign(S > 0 ? S - 1 : 0, 0);
  for (int s = 0; s + 1 < S; ++s)
    for (const HopTiming& h : st.hops)
      if (h.boundary == s % per_copy) c.forward_transfer[static_cast<std::size_t>(s)] = h.median_ns;
  c.backward_transfer = c.forward_transfer;
  c.overlap_f_b = overlap_f_b;
  return c;
}

void layer_times_of(const StageTimesProfile& st, LayerProfile& embedding, LayerProfile& block, LayerProfile& head) {
  const int n = static_cast<int>(st.stages.size());
  const int head_stage = st.head_stage < 0 ? n - 1 : st.head_stage;
  auto per_pass = [&](auto member) {
    std::vector<double> plain, any;
    for (int s = 0; s < n; ++s) {
      const int layers = st.layers_per_stage[static_cast<std::size_t>(s)];
      if (layers <= 0) continue;
      const double ratio = static_cast<double>(pick_time(st.stages[static_cast<std::size_t>(s)].*member, ProfileStatistic::Mean)) / layers;
      any.push_back(ratio);
      if (s != st.embedding_stage && s != head_stage) plain.push_back(ratio);
    }
    double per_block = 0;
    if (!plain.empty()) {
      std::sort(plain.begin(), plain.end());
      per_block = plain[plain.size() / 2];
    } else if (!any.empty()) {
      per_block = *std::min_element(any.begin(), any.end());
    }
    auto beyond = [&](int s) {
      const double stage = static_cast<double>(pick_time(st.stages[static_cast<std::size_t>(s)].*member, ProfileStatistic::Mean));
      return static_cast<TimeNs>(std::llround(std::max(0.0, stage - per_block * st.layers_per_stage[static_cast<std::size_t>(s)])));
    };
    TimeNs emb = beyond(st.embedding_stage), hd = beyond(head_stage);
    if (st.embedding_stage == head_stage) emb = 0;  // one stage holds both: the rest counts as the head
    return std::array<TimeNs, 3>{emb, static_cast<TimeNs>(std::llround(per_block)), hd};
  };
  const auto f = per_pass(&StageTiming::forward);
  const auto b = per_pass(&StageTiming::backward_input);
  const auto w = per_pass(&StageTiming::backward_weight);
  LayerProfile* layers[3] = {&embedding, &block, &head};
  for (int i = 0; i < 3; ++i) {
    layers[i]->forward = exactly(f[static_cast<std::size_t>(i)]);
    layers[i]->backward_input = exactly(b[static_cast<std::size_t>(i)]);
    layers[i]->backward_weight = exactly(w[static_cast<std::size_t>(i)]);
  }
}

Profile traced_profile(const StageTimesProfile& st, const ModelConfig& config, const std::string& device_name, int ranks) {
  Profile p;
  p.ppsim_version = kVersion;
  p.device.kind = "cuda";
  p.device.name = device_name.empty() ? "unknown GPU (the trace names none)" : device_name;
  p.device.count = ranks;
  p.model = load_model(config.model);
  p.micro_batch_size = config.micro_batch_size;
  p.sequence_length = config.sequence_length;
  p.dtype = config.dtype;
  p.repeats = static_cast<int>(st.stages.empty() ? 0 : st.stages.front().samples);
  p.warmup = 0;
  layer_times_of(st, p.embedding, p.block, p.head);
  p.transfer.measured = false;
  p.transfer.reason = "from a profiler trace: hops are timed per stage boundary in stage_times.hops, not fitted by size";
  p.stage_times = st;
  return p;
}

}  // namespace ppsim::trace
