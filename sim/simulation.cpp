#include "sim/simulation.h"

#include <fstream>
#include <sstream>

#include "schedules/order_csv.h"
#include "schedules/registry.h"
#include "schedules/validate.h"
#include "sim/engine.h"
#include "base/error.h"

namespace ppsim {

Schedule make_schedule(const SimulationConfig& c) {
  if (c.schedule == "custom") {
    std::ifstream f(c.order_csv, std::ios::binary);
    if (!f) throw InputError(c.source + ": order_csv: cannot open '" + c.order_csv + "'");
    std::stringstream ss;
    ss << f.rdbuf();
    return read_order_csv(ss.str(), c.order_csv, c.ranks, c.microbatches, c.chunks);
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
  return c;
}

SimulationResult run_simulation(Schedule schedule, OpCosts costs, const MetricsOptions& options) {
  SimulationResult r;
  r.schedule = std::move(schedule);
  r.costs = std::move(costs);
  r.dag = build_dag(r.schedule, r.costs);
  r.timeline = simulate(r.dag);
  r.metrics = compute_metrics(r.timeline, options);
  return r;
}

SimulationResult run_simulation(const SimulationConfig& config) {
  Schedule s = make_schedule(config);
  if (!config.model) {
    OpCosts costs = costs_from_times(*config.times, s);
    SimulationResult r = run_simulation(std::move(s), std::move(costs));
    r.times_source = "explicit times";
    return r;
  }
  ModelCosts mc = build_model_costs(*config.model, s);
  const std::vector<RankMemory> memory = place_memory(mc, s.rank_of_stage, config.source);
  OpCosts costs = mc.op_costs();
  SimulationResult r = run_simulation(std::move(s), std::move(costs), metrics_options(mc));
  r.times_source = "the cost model";
  r.model_metrics = compute_model_metrics(r.metrics, mc, memory, config.microbatches);
  r.model_costs = std::move(mc);
  return r;
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
  return info;
}

}  // namespace ppsim
