// Simulated runs written as traces (skewed clocks, ops as PyTorch-named ranges with their kernels
// on two streams, transfers as send/recv kernel pairs) and imported back: the traced timeline is
// the simulated one, so the simulator's own metrics come out equal, and each GPU's idle time is
// the bubble the simulation had.
#include <gtest/gtest.h>

#include "cli_run.h"
#include "base/error.h"
#include "measure/trace/trace_session.h"
#include "schedules/registry.h"
#include "sim/op_costs.h"
#include "synthetic_trace.h"

namespace ppsim::trace {
namespace {

namespace fs = std::filesystem;

// Stage s: F = 1000 + 100 s us, B = 1100 + 50 s, W = 600; hops 150 us.
OpCosts costs_for(int stages) {
  OpCosts c;
  for (int s = 0; s < stages; ++s) {
    c.forward.push_back((1000 + 100 * s) * 1000);
    c.backward_input.push_back((1100 + 50 * s) * 1000);
    c.backward_weight.push_back(600 * 1000);
  }
  c.forward_transfer.assign(static_cast<std::size_t>(stages - 1), 150 * 1000);
  c.backward_transfer = c.forward_transfer;
  return c;
}

SimulationResult simulate_kind(const std::string& kind, int P, int M, int V) {
  return run_simulation(generate_schedule(kind, {P, M, V}), costs_for(P * V));
}

// Writes the run's traces into a fresh folder and imports them.
TraceOutcome import(const SimulationResult& sim, const test::FromSimulation& how, const std::string& name,
                    std::optional<SimulationConfig> config = std::nullopt) {
  const fs::path dir = test::scratch_dir("traced_" + name);
  const auto fakes = test::trace_of(sim, how);
  for (const auto& f : fakes)
    test::write_file((dir / ("worker_rank" + std::to_string(f.rank) + ".json" + (f.rank % 2 ? ".gz" : ""))).string(),
                     test::kineto_json(f));
  TraceRequest r;
  r.inputs = {dir.string()};
  r.config = std::move(config);
  TraceOutcome out = run_trace(r);
  if (!std::getenv("PPSIM_KEEP_TRACES")) fs::remove_all(dir);
  return out;
}

void expect_same_metrics(const Metrics& traced, const Metrics& simulated, const std::string& what) {
  EXPECT_EQ(traced.makespan_ns, simulated.makespan_ns) << what;
  EXPECT_EQ(traced.bubble_fraction, simulated.bubble_fraction) << what;
  EXPECT_EQ(traced.bubble_rate_zb, simulated.bubble_rate_zb) << what;
  ASSERT_EQ(traced.ranks.size(), simulated.ranks.size());
  for (std::size_t r = 0; r < traced.ranks.size(); ++r) {
    const RankMetrics &a = traced.ranks[r], &b = simulated.ranks[r];
    EXPECT_EQ(a.busy_ns, b.busy_ns) << what << " rank " << r;
    EXPECT_EQ(a.span_ns, b.span_ns) << what << " rank " << r;
    EXPECT_EQ(a.idle_leading_ns, b.idle_leading_ns) << what << " rank " << r;
    EXPECT_EQ(a.idle_trailing_ns, b.idle_trailing_ns) << what << " rank " << r;
    EXPECT_EQ(a.idle_waiting_activation_ns, b.idle_waiting_activation_ns) << what << " rank " << r;
    EXPECT_EQ(a.idle_waiting_gradient_ns, b.idle_waiting_gradient_ns) << what << " rank " << r;
    EXPECT_EQ(a.idle_other_ns, b.idle_other_ns) << what << " rank " << r;
    EXPECT_EQ(a.peak_in_flight, b.peak_in_flight) << what << " rank " << r;
    EXPECT_EQ(a.mean_in_flight, b.mean_in_flight) << what << " rank " << r;
    EXPECT_EQ(a.mean_residence_ns, b.mean_residence_ns) << what << " rank " << r;
  }
  ASSERT_EQ(traced.links.size(), simulated.links.size());
  for (std::size_t k = 0; k < traced.links.size(); ++k) {
    EXPECT_EQ(traced.links[k].transfers, simulated.links[k].transfers) << what;
    EXPECT_EQ(traced.links[k].busy_ns, simulated.links[k].busy_ns) << what;
  }
  EXPECT_EQ(traced.critical_path.compute_ns + traced.critical_path.transfer_ns,
            simulated.critical_path.compute_ns + simulated.critical_path.transfer_ns) << what;
}

struct Case {
  const char* kind;
  int P, M, V;
};

TEST(TracedRun, SimulatedSchedulesComeBackWithTheirOwnMetrics) {
  for (const Case& c : {Case{"1f1b", 4, 8, 1}, Case{"zb-h1", 4, 8, 1}, Case{"gpipe", 3, 4, 1},
                        Case{"interleaved-1f1b", 2, 4, 2}, Case{"zb-v", 2, 4, 2}}) {
    const std::string what = std::string(c.kind) + " P=" + std::to_string(c.P);
    const SimulationResult sim = simulate_kind(c.kind, c.P, c.M, c.V);
    test::FromSimulation how;
    for (int r = 0; r < c.P; ++r) how.skew.push_back(r * 7'654'321 - (r % 2) * 40'000'000);
    const TraceOutcome o = import(sim, how, c.kind);
    ASSERT_TRUE(o.run) << what;
    EXPECT_TRUE(o.run->order_matches_expected);
    EXPECT_EQ(o.run->schedule.kind, "traced") << what;
    EXPECT_EQ(o.run->schedule.order, sim.schedule.order) << what;
    EXPECT_EQ(o.run->schedule.rank_of_stage, sim.schedule.rank_of_stage) << what;
    expect_same_metrics(o.metrics, sim.metrics, what);
    // The clocks: every skew recovered exactly from the send/recv pairs.
    for (int r = 1; r < c.P; ++r) {
      EXPECT_EQ(o.ranks[r].clock.offset_ns, how.skew[0] - how.skew[r]) << what << " rank " << r;
      EXPECT_NE(o.ranks[r].clock.method.find("nccl send/recv"), std::string::npos) << o.ranks[r].clock.method;
    }
    // Each GPU: busy = its ops, idle = the simulated bubble; every inner gap was a wait on a receive.
    for (int r = 0; r < c.P; ++r) {
      const RankGpu& g = o.gpu.ranks[r];
      const RankMetrics& m = sim.metrics.ranks[r];
      EXPECT_EQ(g.busy, m.busy_ns) << what << " rank " << r;
      EXPECT_EQ(g.idle_leading, m.idle_leading_ns) << what << " rank " << r;
      EXPECT_EQ(g.idle_trailing, m.idle_trailing_ns) << what << " rank " << r;
      EXPECT_EQ(g.inner.pipeline, m.idle_waiting_activation_ns + m.idle_waiting_gradient_ns + m.idle_other_ns)
          << what << " rank " << r;
      EXPECT_EQ(g.inner.host + g.inner.other + g.inner.collective + g.inner.memory, 0) << what << " rank " << r;
    }
    EXPECT_EQ(o.gpu.window_ns, sim.metrics.makespan_ns) << what;
    // Reproduced from its own op times: exact (every op of a stage took the same time).
    ASSERT_TRUE(o.reproduction);
    EXPECT_EQ(o.reproduction->predicted_makespan_ns, o.reproduction->measured_makespan_ns) << what;
    EXPECT_EQ(o.reproduction->worst_op_error_pct, 0.0) << what;
  }
}

TEST(TracedRun, ScheduleYamlChecksTheTracedOrder) {
  const SimulationResult sim = simulate_kind("1f1b", 4, 8, 1);
  const TraceOutcome same = import(sim, {}, "order_same",
                                   parse_config("schedule: 1f1b\nstages: 4\nmicrobatches: 8\ntimes: {forward: 1ms, "
                                                "backward_input: 1ms, backward_weight: 0ms, transfer: 0ms}\n",
                                                "cfg.yaml", "."));
  EXPECT_TRUE(same.run->order_matches_expected);
  EXPECT_EQ(same.run->schedule.kind, "1f1b");
  // The same trace against GPipe: its order is kept and the first difference of each rank noted.
  const TraceOutcome other = import(sim, {}, "order_other",
                                    parse_config("schedule: gpipe\nstages: 4\nmicrobatches: 8\ntimes: {forward: 1ms, "
                                                 "backward_input: 1ms, backward_weight: 0ms, transfer: 0ms}\n",
                                                 "cfg.yaml", "."));
  EXPECT_FALSE(other.run->order_matches_expected);
  EXPECT_EQ(other.run->schedule.kind, "gpipe (traced order)");
  expect_same_metrics(other.metrics, sim.metrics, "1f1b traced against gpipe");
  bool noted = false;
  for (const auto& n : other.notes)
    noted = noted || n == "the traced order differs from gpipe's: rank 0 op 4: traced 0B0, gpipe has 0F4";
  EXPECT_TRUE(noted);
}

// Names without stage (GPipe's "Forward i") or without anything (Megatron's frames): the stage is
// the rank's own, the micro-batch counts up; with --schedule-yaml, by position in its order.
TEST(TracedRun, NamesWithoutStageOrMicrobatch) {
  const SimulationResult gpipe = simulate_kind("gpipe", 3, 4, 1);
  test::FromSimulation plain;
  plain.pytorch_names = false;
  plain.with_transfers = false;
  const TraceOutcome a = import(gpipe, plain, "forward_i");
  ASSERT_TRUE(a.run);
  EXPECT_EQ(a.run->schedule.order, gpipe.schedule.order);
  EXPECT_EQ(a.metrics.makespan_ns, gpipe.metrics.makespan_ns);
  for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(a.metrics.ranks[r].busy_ns, gpipe.metrics.ranks[r].busy_ns);

  const SimulationResult one = simulate_kind("1f1b", 3, 6, 1);
  test::FromSimulation megatron;
  megatron.megatron_names = true;
  megatron.with_transfers = false;
  const TraceOutcome b = import(one, megatron, "megatron",
                                parse_config("schedule: 1f1b\nstages: 3\nmicrobatches: 6\ntimes: {forward: 1ms, "
                                             "backward_input: 1ms, backward_weight: 0ms, transfer: 0ms}\n",
                                             "cfg.yaml", "."));
  ASSERT_TRUE(b.run);
  EXPECT_TRUE(b.run->order_matches_expected);
  EXPECT_EQ(b.metrics.makespan_ns, one.metrics.makespan_ns);
  for (std::size_t r = 0; r < 3; ++r) EXPECT_EQ(b.metrics.ranks[r].busy_ns, one.metrics.ranks[r].busy_ns);
  // Without transfers in the trace, a wait shows as waiting for the data that arrived last.
  for (std::size_t r = 0; r < 3; ++r)
    EXPECT_EQ(b.metrics.ranks[r].idle_waiting_activation_ns + b.metrics.ranks[r].idle_waiting_gradient_ns,
              one.metrics.ranks[r].idle_waiting_activation_ns + one.metrics.ranks[r].idle_waiting_gradient_ns);
  // A schedule whose order cannot match by position is refused, naming the first op that differs.
  try {
    import(one, megatron, "megatron_bad",
           parse_config("schedule: gpipe\nstages: 3\nmicrobatches: 6\ntimes: {forward: 1ms, backward_input: 1ms, "
                        "backward_weight: 0ms, transfer: 0ms}\n", "cfg.yaml", "."));
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("rank 0, op 3: the trace has BW where schedule gpipe has 0F3"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ppsim::trace
