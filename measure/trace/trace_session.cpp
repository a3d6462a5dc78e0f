#include "measure/trace/trace_session.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/error.h"
#include "measure/trace/op_patterns.h"
#include "measure/trace/rank_files.h"
#include "measure/trace/step_window.h"
#include "measure/trace/trace_profile.h"
#include "measure/trace/trace_reader.h"
#include "sim/model_costs.h"
#include "sim/model_metrics.h"

namespace ppsim::trace {
namespace {

void say(const TraceRequest& r, const std::string& line) {
  if (r.log) r.log(line);
}

// Reads every file and orders them by global rank: pipeline rank p is the p-th smallest.
std::vector<RankTrace> read_ranks(const TraceRequest& request, const OpPatterns& patterns, std::vector<std::string>& notes) {
  const std::vector<std::string> paths = expand_trace_paths(request.inputs);
  std::vector<RankTrace> ranks;
  for (const std::string& path : paths) {
    say(request, "ppsim trace: reading " + path);
    RankTrace t = read_rank_trace(path, patterns);
    if (t.rank < 0) {
      if (const auto r = rank_from_file_name(path)) {
        t.rank = *r;
        t.rank_source = "file name";
      } else if (paths.size() == 1) {
        t.rank = 0;
        t.rank_source = "the only trace";
      } else {
        throw InputError(path + ": cannot tell which rank this trace is: it has no distributedInfo and its name no rank "
                                "(like rank3, rank-3 or _3.json)");
      }
    }
    ranks.push_back(std::move(t));
  }
  std::stable_sort(ranks.begin(), ranks.end(), [](const RankTrace& a, const RankTrace& b) { return a.rank < b.rank; });
  for (std::size_t i = 1; i < ranks.size(); ++i)
    if (ranks[i].rank == ranks[i - 1].rank)
      throw InputError(ranks[i].path + " and " + ranks[i - 1].path + " are both rank " + std::to_string(ranks[i].rank) +
                       " (one trace per rank)");
  int world = 0;
  for (const RankTrace& t : ranks) world = std::max(world, t.world_size);
  bool contiguous = true;
  for (std::size_t i = 0; i < ranks.size(); ++i) contiguous = contiguous && ranks[i].rank == static_cast<int>(i);
  if (!contiguous || (world > 0 && world != static_cast<int>(ranks.size())))
    notes.push_back(std::to_string(ranks.size()) + (ranks.size() == 1 ? " trace" : " traces") +
                    (world > 0 ? " of a job of " + std::to_string(world) + " ranks" : "") +
                    ": pipeline rank p is the trace with the p-th smallest global rank");
  return ranks;
}

// The pairs of ranks that exchange pipeline data: consecutive stages on different ranks.
std::vector<std::pair<int, int>> talking_pairs(const std::optional<Schedule>& schedule, int ranks) {
  std::set<std::pair<int, int>> pairs;
  if (schedule) {
    const auto& where = schedule->rank_of_stage;
    for (std::size_t s = 0; s + 1 < where.size(); ++s)
      if (where[s] != where[s + 1]) pairs.insert({std::min(where[s], where[s + 1]), std::max(where[s], where[s + 1])});
  }
  for (int r = 1; r < ranks; ++r) pairs.insert({r - 1, r});  // neighbours, when no schedule says otherwise
  return {pairs.begin(), pairs.end()};
}

RunInfo describe_traced(const TraceRequest& request, const Schedule& s, const std::string& times_source) {
  RunInfo info;
  if (request.config) {
    info = describe_run(*request.config, s, times_source);
  } else {
    info.config_source.clear();
    for (const std::string& in : request.inputs) info.config_source += (info.config_source.empty() ? "" : " ") + in;
    info.ranks = s.ranks;
    info.microbatches = s.microbatches;
    info.chunks = s.chunks;
    info.split_backward = s.split_backward;
    info.times_source = times_source;
  }
  info.schedule = s.kind;
  return info;
}

}  // namespace

TraceOutcome run_trace(const TraceRequest& request) {
  if (request.want_profile && (!request.config || !request.config->model))
    throw InputError("--profile-out needs --schedule-yaml with 'model:' (a profile describes a model's layers and its "
                     "micro-batch shape); with explicit 'times:' the report's measured stage times are what to copy");
  OpPatterns patterns;
  if (!request.patterns_path.empty()) patterns = load_patterns(request.patterns_path);
  patterns.append(shipped_patterns());

  TraceOutcome out;
  std::vector<RankTrace> ranks = read_ranks(request, patterns, out.notes);
  const int P = static_cast<int>(ranks.size());
  std::optional<Schedule> expected;
  if (request.config) expected = make_schedule(*request.config);

  out.step = choose_step(ranks, request.step);
  std::vector<StepWindow> windows;
  for (const RankTrace& t : ranks) windows.push_back(step_window(t, out.step));
  const std::vector<RankClock> clocks = align_clocks(ranks, windows, talking_pairs(expected, P));
  for (int r = 0; r < P; ++r) {
    shift_clock(ranks[r], windows[r], clocks[r].offset_ns);
    const RankTrace& t = ranks[r];
    out.ranks.push_back({t.path, t.rank, t.world_size, t.rank_source, clocks[r], t.bytes, t.events, t.gpu.size(),
                         t.calls.size(), t.ranges.size()});
    if (out.device_name.empty()) out.device_name = t.device_name;
  }
  out.gpu = analyze_gpu(ranks, windows);
  std::size_t found = 0;
  for (int r = 0; r < P; ++r) {
    out.ops.push_back(find_rank_ops(ranks[r], windows[r], patterns));
    found += out.ops.back().ops.size();
  }
  if (found == 0) {
    out.notes.push_back("no annotation names a pipeline op (patterns: PyTorch's PP:<stage><F|I|W|B><mb>, Forward i / "
                        "Backward i, Megatron's forward_step / backward_step frames, DualPipe's attn(F)...; --patterns for "
                        "your own): only the GPU timeline is reported");
    return out;
  }

  const std::string step_words = out.step >= 0 ? "ProfilerStep#" + std::to_string(out.step) : "the whole trace";
  out.run = build_traced_run(out.ops, expected, std::to_string(P) + (P == 1 ? " rank, " : " ranks, ") + step_words);
  TracedRun& run = *out.run;
  out.notes.insert(out.notes.end(), run.notes.begin(), run.notes.end());

  // The model (when the config has one) gives activation bytes, the B/W split of fused backwards
  // and the partition the stage times were measured with.
  std::optional<ModelCosts> model_costs;
  if (request.config && request.config->model) model_costs = build_model_costs(*request.config->model, run.schedule);
  const MetricsOptions metrics_opts = model_costs ? metrics_options(*model_costs) : MetricsOptions{};
  out.metrics = compute_metrics(run.timeline, metrics_opts);
  out.info = describe_traced(request, run.schedule, "a profiler trace (" + step_words + ")");

  const int copies = run.schedule.chain_begin.empty() ? 1 : static_cast<int>(run.schedule.chain_begin.size()) - 1;
  Partition partition;
  std::vector<double> b_share;
  if (model_costs) {
    partition = model_costs->partition;
    if (request.config->model->partition_auto)
      out.notes.push_back("the stage times are recorded against ppsim's auto partition; if the traced job split its "
                          "layers otherwise, give 'partition:' in " + request.config_path);
    for (int s = 0; s < partition.virtual_stages(); ++s) {
      const StageCost& c = model_costs->table.stages[static_cast<std::size_t>(s)];
      const double total = c.backward_input_flops + c.backward_weight_flops;
      b_share.push_back(total > 0 ? c.backward_input_flops / total : 1.0);
    }
  } else {
    partition.layers_per_stage.assign(static_cast<std::size_t>(run.schedule.stages() / copies), 0);
  }
  out.stage_times = stage_times_of(run, out.ops, partition, b_share,
                                   "ppsim trace of " + std::to_string(P) + " ranks (" + run.schedule.kind + ", P = " +
                                       std::to_string(run.schedule.ranks) + ", M = " +
                                       std::to_string(run.schedule.microbatches) + ", " + step_words + ")");

  // Reproduction: the traced schedule simulated from the traced op times, through the same cost
  // model path `ppsim simulate` takes with the profile written here.
  OpCosts costs;
  std::string times_source;
  if (model_costs) {
    out.profile = traced_profile(*out.stage_times, *request.config->model, out.device_name, P);
    auto shared = std::make_shared<const Profile>(*out.profile);
    const ModelCosts mc = build_model_costs(*request.config->model, run.schedule, {shared, "(this trace)", partition});
    costs = mc.op_costs();
    times_source = "the cost model with the profile calibrated from this trace";
  } else {
    costs = op_costs_of(*out.stage_times, run.schedule, overlapped_unit_times(run));
    times_source = "the traced stage means and measured hops";
  }
  out.reproduced = run_simulation(run.schedule, costs, metrics_opts);
  out.reproduction = compare_timelines(out.reproduced->timeline, out.reproduced->metrics, run.timeline, out.metrics);
  out.reproduced_info = describe_traced(request, run.schedule, times_source);
  if (!request.want_profile) out.profile.reset();
  return out;
}

}  // namespace ppsim::trace
