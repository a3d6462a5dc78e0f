// Jitter on training schedules (sim/replications.h): exact where the makespan is a sum, the
// straggler as a rescaled deterministic run, the same result on any thread count, and the config
// keys with their errors.
#include <gtest/gtest.h>

#include <cmath>

#include "input_error.h"
#include "schedules/registry.h"
#include "sim/config/config.h"
#include "sim/dag.h"
#include "sim/engine.h"
#include "sim/op_costs.h"
#include "sim/replications.h"
#include "sim/simulation.h"
#include "models/sample_profile.h"

namespace ppsim {
namespace {

Dag zb_h1_dag(int P, int M, TimeNs f = 1'200'000, TimeNs b = 1'100'000, TimeNs w = 600'000, TimeNs x = 50'000) {
  const Schedule s = generate_zb_h1({P, M, 1});
  return build_dag(s, uniform_costs(P, f, b, w, x));
}

ReplicationSpec spec(Distribution d, double cv, int R) {
  ReplicationSpec s;
  s.jitter = {d, cv};
  s.replications = R;
  s.seed = 3;
  return s;
}

// Deterministic "jitter" replays the DAG's own times: every makespan the deterministic one, no excess.
TEST(Replications, DeterministicIsTheDeterministicMakespan) {
  const Dag dag = zb_h1_dag(4, 8);
  const ReplicationResult r = run_replications(dag, spec(Distribution::Deterministic, 0, 3), 2);
  const Timeline tl = simulate(dag);
  TimeNs det = 0;
  for (OpId v = 0; v < dag.table->pipeline_ops(); ++v) det = std::max(det, tl.end[v]);
  EXPECT_EQ(r.deterministic_makespan, det);
  for (TimeNs m : r.makespans) EXPECT_EQ(m, det);
  for (double e : r.rank_excess_ns) EXPECT_EQ(e, 0.0);
}

// One stage: the makespan is the sum of its 2M ops (F and fused BW, GPipe), so with exponential times
// its mean is the deterministic makespan and its variance the sum of the squared means; the
// replications' mean lies within 4 standard errors (sd / sqrt(R)) of it.
TEST(Replications, OneStageMeanIsTheSumOfTheMeans) {
  const int M = 16, R = 2000;
  const Schedule s = generate_gpipe({1, M, 1});
  const Dag dag = build_dag(s, uniform_costs(1, 3'000'000, 2'000'000, 1'000'000, 0));
  const ReplicationResult r = run_replications(dag, spec(Distribution::Exponential, 1, R), 2);
  double var = 0;
  for (const Op& op : dag.table->ops) var += static_cast<double>(op.duration) * static_cast<double>(op.duration);
  const double se = std::sqrt(var / R);
  EXPECT_NEAR(r.mean_ns, static_cast<double>(r.deterministic_makespan), 4 * se) << "s.e. " << se;
  EXPECT_LT(se, 0.02 * static_cast<double>(r.deterministic_makespan));
  // With one stage every op is on the critical path: rank 0's excess is the mean makespan's excess.
  EXPECT_NEAR(r.rank_excess_ns[0], r.mean_ns - static_cast<double>(r.deterministic_makespan), 1e-3);
}

// Jensen: the makespan is a maximum over paths, so jitter can only lengthen it on average.
TEST(Replications, JitterLengthensTheMeanMakespan) {
  const Dag dag = zb_h1_dag(8, 64);
  const ReplicationResult r = run_replications(dag, spec(Distribution::Lognormal, 0.05, 200), 2);
  EXPECT_GT(r.mean_ns, static_cast<double>(r.deterministic_makespan));
  EXPECT_GE(r.p99, r.p50);
  EXPECT_GE(r.max, r.p99);
}

// A straggler without jitter is the deterministic run with that rank's compute times scaled.
TEST(Replications, StragglerIsARescaledDeterministicRun) {
  const int P = 4, M = 8;
  const Dag dag = zb_h1_dag(P, M);
  ReplicationSpec s = spec(Distribution::Deterministic, 0, 1);
  s.straggler = Straggler{2, 1.5};
  const ReplicationResult r = run_replications(dag, s, 1);
  std::vector<TimeNs> d;
  for (OpId v = 0; v < dag.table->ops.size(); ++v) {
    const Op& op = dag.table->ops[v];
    d.push_back(v < dag.table->compute_ops() && op.resource == 2 ? op.duration * 3 / 2 : op.duration);
  }
  const Timeline tl = simulate(dag, d);
  TimeNs end = 0;
  for (OpId v = 0; v < dag.table->pipeline_ops(); ++v) end = std::max(end, tl.end[v]);
  EXPECT_EQ(r.makespans[0], end);
  EXPECT_GT(r.makespans[0], r.deterministic_makespan);
  EXPECT_GT(r.rank_excess_ns[2], 0.0);
  EXPECT_EQ(r.rank_excess_ns[0], 0.0);
}

// Each replication has its own random stream and the sums are integers: thread counts agree exactly.
TEST(Replications, SameResultOnAnyThreadCount) {
  const Dag dag = zb_h1_dag(4, 16);
  const ReplicationSpec s = spec(Distribution::Gamma, 0.2, 50);
  const ReplicationResult a = run_replications(dag, s, 1), b = run_replications(dag, s, 3);
  EXPECT_EQ(a.makespans, b.makespans);
  EXPECT_EQ(a.rank_excess_ns, b.rank_excess_ns);
  EXPECT_EQ(a.op_excess_ns, b.op_excess_ns);
}

const std::string kTraining =
    "schedule: 1f1b\nstages: 4\nmicrobatches: 8\ntimes: {forward: 1ms, backward_input: 1ms, backward_weight: 1ms}\n";

TEST(Replications, ConfigKeysAndErrors) {
  const SimulationConfig c = parse_config(kTraining + "jitter: {distribution: lognormal, cv: 0.05}\nreplications: 10\n"
                                          "straggler: {rank: 3, slowdown: 1.2}\nseed: 4\n", "s.yaml", ".");
  ASSERT_TRUE(c.replication);
  EXPECT_EQ(c.replication->replications, 10);
  EXPECT_EQ(c.replication->seed, 4u);
  EXPECT_EQ(c.replication->straggler->rank, 3);
  EXPECT_EQ(c.replication->straggler->slowdown, 1.2);
  EXPECT_EQ(parse_config(kTraining + "jitter: {distribution: gamma, cv: 0.1}\n", "s.yaml", ".").replication->replications, 100);
  EXPECT_FALSE(parse_config(kTraining, "s.yaml", ".").replication);
  EXPECT_EQ(error_of([] { parse_config(kTraining + "replications: 10\n", "s.yaml", "."); }),
            "s.yaml:5:15: replications: needs 'jitter:' or 'straggler:' (it configures their replays)");
  EXPECT_EQ(error_of([] { parse_config(kTraining + "straggler: {rank: 4, slowdown: 1.2}\n", "s.yaml", "."); }),
            "s.yaml:5:19: straggler.rank: must be at most 3 (got '4')");
  EXPECT_EQ(error_of([] { parse_config(kTraining + "jitter: {distribution: normal, cv: -1}\n", "s.yaml", "."); }),
            "s.yaml:5:36: jitter.cv: must be a number in [0, 10] (got '-1')");
}

// distribution: profile takes its spreads from the profile's block timings.
TEST(Replications, ProfileSpreads) {
  const std::array<Spread, 4> s = profile_spreads(test::sample_profile());
  EXPECT_DOUBLE_EQ(s[0].q10, 0.9);    // forward 900 / 1000
  EXPECT_DOUBLE_EQ(s[0].q90, 1.1);
  EXPECT_DOUBLE_EQ(s[1].q10, 0.95);   // backward_input 1900 / 2000
  EXPECT_DOUBLE_EQ(s[2].q90, 1.01);   // backward_weight 1010 / 1000
  EXPECT_DOUBLE_EQ(s[3].q10, 2890.0 / 3000);  // fused: (1900 + 990) / (2000 + 1000)
  EXPECT_EQ(error_of([] { parse_config(kTraining + "jitter: {distribution: profile}\n", "s.yaml", "."); }),
            "s.yaml:5:24: jitter.distribution: profile samples each op from the calibration profile's spread: it "
            "needs 'profile:' (with 'model:')");
  EXPECT_EQ(error_of([] {
              parse_config("schedule: stream\nstages: 1\nitems: 5\ntimes: {forward: 1ms}\njitter: {distribution: profile}\n",
                           "s.yaml", ".");
            }).substr(0, 111),
            "s.yaml:5:24: jitter.distribution: profile samples each op from its calibration profile's spread, which a "
            "stream");
}

}  // namespace
}  // namespace ppsim
