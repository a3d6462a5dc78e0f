#include "sim/simulation.h"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <sstream>

#include "schedules/order_csv.h"
#include "schedules/registry.h"
#include "schedules/validate.h"
#include "sim/engine.h"
#include "sim/simulator.h"
#include "sim/zb_auto.h"
#include "base/allocator.h"
#include "base/error.h"
#include "base/input_file.h"

namespace ppsim {

// From this many ops on, a DAG's build leaves tens of megabytes of freed tables behind.
constexpr std::size_t kLargeDagOps = 1'000'000;

Schedule layout_schedule(const SimulationConfig& c) {
  if (c.schedule != "zb-auto") return make_schedule(c);
  return generate_schedule("zb-h1", {c.ranks, c.microbatches, 1});  // the same placement, one stage per rank
}

Schedule make_schedule(const SimulationConfig& c, const OpCosts* costs, ScheduleSearch* how) {
  if (c.schedule == "zb-auto") {
    if (!costs) throw std::logic_error("make_schedule: zb-auto needs op costs");
    const ZbAutoResult z = search_zb_auto(c.ranks, c.microbatches, c.in_flight_limit, c.w_stash_fraction, *costs);
    if (how) {
      char text[160];
      std::snprintf(text, sizeof text, " candidates (in-flight limit %d micro-batches, W stash fraction %.3g)",
                    c.in_flight_limit, c.w_stash_fraction);
      how->note = "zb-auto: picked " + z.candidate + " among " + std::to_string(z.candidates.size()) + text;
      how->seconds = z.search_seconds;
    }
    Schedule s = z.schedule;
    validate_schedule(s, "schedule zb-auto");
    return s;
  }
  if (c.schedule == "custom") {
    std::string text;
    try {
      text = read_input_file(c.order_csv);
    } catch (const InputError& e) {
      throw InputError(c.source + ": order_csv: " + e.what());
    }
    return read_order_csv(text, c.order_csv, c.ranks, c.microbatches, c.chunks);
  }
  Schedule s;
  try {
    s = generate_schedule(c.schedule, {c.ranks, c.microbatches, c.chunks});
  } catch (const InputError& e) {
    throw InputError(c.source + ": " + e.what());
  }
  validate_schedule(s, "schedule " + c.schedule);
  return s;
}

OpCosts costs_from_times(const ExplicitTimes& t, const Schedule& s) {
  const int S = s.stages();
  OpCosts c;
  c.forward.resize(S);
  c.backward_input.resize(S);
  c.backward_weight.resize(S);
  for (int st = 0; st < S; ++st) {
    const int r = s.rank_of_stage[st];
    c.forward[st] = t.forward[r];
    c.backward_input[st] = t.backward_input[r];
    c.backward_weight[st] = t.backward_weight[r];
  }
  c.forward_transfer.assign(S > 0 ? S - 1 : 0, t.transfer);
  c.backward_transfer.assign(S > 0 ? S - 1 : 0, t.transfer);
  c.overlap_f_b = t.overlap_f_b;
  return c;
}

SimulationResult run_simulation(Schedule schedule, OpCosts costs, const MetricsOptions& options,
                                const TrainingStepCosts& step) {
  SimulationResult r;
  r.schedule = std::move(schedule);
  r.costs = std::move(costs);
  r.dag = build_dag(r.schedule, r.costs, step);
  // The builder's and the validator's tables are freed now, in holes the timeline's larger arrays
  // cannot reuse: hand their pages back, or they stay resident beside the timeline (issue 13:
  // 67.6 -> 63.8 bytes of peak RSS per op at P = 1024, M = 4096).
  if (r.dag.table->ops.size() >= kLargeDagOps) return_free_memory_to_system();
  r.timeline = simulate(r.dag);
  r.metrics = compute_metrics(r.timeline, options);
  return r;
}

namespace {

SimulationResult fresh_simulation(Schedule s, OpCosts costs, const MetricsOptions& options,
                                  const TrainingStepCosts& step) {
  return run_simulation(std::move(s), std::move(costs), options, step);
}

// run_model_simulation's steps around the simulation itself, which `simulate` runs: with fresh
// memory (every output of `ppsim simulate`) or in a reused Simulator (ppsim plan).
template <class Simulate>
SimulationResult model_simulation(const SimulationConfig& config, Schedule layout, ModelCosts mc,
                                  Simulate&& simulate) {
  ScheduleSearch search;
  OpCosts costs = mc.op_costs(layout.rank_of_stage);
  Schedule s = config.schedule == "zb-auto" ? make_schedule(config, &costs, &search) : std::move(layout);
  const std::vector<RankMemory> memory = place_memory(mc, s.rank_of_stage, config.source);
  const TrainingStepCosts step = mc.step_costs(s.rank_of_stage, s.ranks);
  SimulationResult r = simulate(std::move(s), std::move(costs), metrics_options(mc), step);
  r.times_source = "the cost model";
  r.search = search;
  r.model_metrics = compute_model_metrics(r.metrics, mc, memory, config.microbatches);
  r.model_costs = std::move(mc);
  return r;
}

}  // namespace

SimulationResult run_simulation(const SimulationConfig& config) {
  if (config.stream)
    throw InputError(config.source + ": schedule: stream is a streaming pipeline, which 'ppsim simulate' runs; this "
                     "command takes a training schedule");
  // Op costs depend on where stages live, not on the order: a zb-auto search needs them first.
  // The layout is the schedule itself but for zb-auto: moved on, not copied (a copy held 16 bytes
  // per action twice over for the whole run).
  Schedule layout = layout_schedule(config);
  ScheduleSearch search;
  if (!config.model) {
    OpCosts costs = costs_from_times(*config.times, layout);
    Schedule s = config.schedule == "zb-auto" ? make_schedule(config, &costs, &search) : std::move(layout);
    SimulationResult r = run_simulation(std::move(s), std::move(costs));
    r.times_source = "explicit times";
    r.search = search;
    return r;
  }
  ModelCosts mc = build_model_costs(*config.model, layout);
  return model_simulation(config, std::move(layout), std::move(mc), fresh_simulation);
}


SimulationResult run_model_simulation(const SimulationConfig& config, const Schedule& layout, ModelCosts mc) {
  return model_simulation(config, layout, std::move(mc), fresh_simulation);
}

SimulationResult run_model_simulation(const SimulationConfig& config, const Schedule& layout, ModelCosts mc,
                                      Simulator& simulator) {
  return model_simulation(config, layout, std::move(mc),
                          [&](Schedule s, OpCosts costs, const MetricsOptions& options, const TrainingStepCosts& step) {
                            SimulationResult r;
                            r.metrics = simulator.run(s, costs, options, step);
                            r.schedule = std::move(s);
                            r.costs = std::move(costs);
                            return r;
                          });
}

RunInfo describe_run(const SimulationConfig& c, const Schedule& s, const std::string& times_source) {
  RunInfo info;
  info.config_source = c.source;
  info.schedule = c.schedule;
  info.ranks = c.ranks;
  info.microbatches = c.microbatches;
  info.chunks = c.chunks;
  info.split_backward = s.split_backward;
  info.times_source = times_source;
  if (c.parallel_keys_ignored)
    info.notes.push_back("tensor_parallel, sequence_parallel, data_parallel, zero, placement and grad_reduce_overlap are "
                         "ignored: explicit times are one pipeline's, as given (no training step is added)");
  return info;
}

}  // namespace ppsim
